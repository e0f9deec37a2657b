"""Secrets Manager's CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret,
ListSecrets and DeleteSecret through boto3 and the ``aws`` CLI: answers, versions and their
stage labels, lookups by name and ARN, regions, and every error with its ``__type``."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.support.ecr import ACCOUNT, REGION, AwsCli, expect_error
from tests.support.secrets import ARN_PATTERN, secrets_client
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(120)

CREDENTIALS = {"username": "dockyard-bot", "accessToken": "dckr_pat_not-a-real-token"}


def _arn_pattern(name: str, region: str = REGION) -> str:
    return ARN_PATTERN.format(region=region, account=ACCOUNT, name=re.escape(name))


def test_the_guide_s_create_secret_works_as_written(aws: AwsCli, sm: Any) -> None:
    # The ECR user guide's command, with the real aws CLI.
    created = aws(
        "create-secret",
        "--name",
        "ecr-pullthroughcache/docker-hub",
        "--description",
        "Docker Hub credentials for the pull-through cache",
        "--secret-string",
        json.dumps(CREDENTIALS),
    )
    assert re.match(_arn_pattern("ecr-pullthroughcache/docker-hub"), created["ARN"]), created
    assert created["Name"] == "ecr-pullthroughcache/docker-hub"
    # The CLI made a ClientRequestToken (a UUID): it is the version's id.
    assert uuid.UUID(created["VersionId"])

    got = aws("get-secret-value", "--secret-id", "ecr-pullthroughcache/docker-hub")
    assert json.loads(got["SecretString"]) == CREDENTIALS
    assert got["VersionId"] == created["VersionId"]
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["ARN"] == created["ARN"]

    described = sm.describe_secret(SecretId=created["ARN"])
    assert described["Description"] == "Docker Hub credentials for the pull-through cache"
    assert described["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    listed = aws("list-secrets", "--filters", "Key=name,Values=ecr-pullthroughcache/docker-hub")
    assert [s["ARN"] for s in listed["SecretList"]] == [created["ARN"]]


def test_create_get_describe(sm: Any, name: str) -> None:
    before = time.time()
    created = sm.create_secret(
        Name=name,
        SecretString=json.dumps(CREDENTIALS),
        Description="for the cache",
        KmsKeyId="alias/aws/secretsmanager",
        Tags=[{"Key": "team", "Value": "infra"}, {"Key": "env", "Value": ""}],
    )
    arn = created["ARN"]
    assert re.match(_arn_pattern(name), arn), arn
    # Found by name, by full ARN and by the ARN without its random suffix.
    for secret_id in (name, arn, arn[:-7]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["SecretString"] == json.dumps(CREDENTIALS)
        assert got["ARN"] == arn and got["Name"] == name
        assert before - 2 <= got["CreatedDate"].timestamp() <= time.time() + 2
    described = sm.describe_secret(SecretId=name)
    assert described["ARN"] == arn
    assert described["Description"] == "for the cache"
    assert described["KmsKeyId"] == "alias/aws/secretsmanager"
    assert described["Tags"] == [{"Key": "team", "Value": "infra"}, {"Key": "env", "Value": ""}]
    assert described["RotationEnabled"] is False
    assert "DeletedDate" not in described
    assert before - 2 <= described["CreatedDate"].timestamp() <= time.time() + 2
    assert described["LastChangedDate"] == described["CreatedDate"]


def test_a_secret_without_a_value_has_no_version(sm: Any, name: str) -> None:
    created = sm.create_secret(Name=name)
    assert "VersionId" not in created
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {}
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name)
    put = sm.put_secret_value(SecretId=name, SecretString="first")
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "first"


def test_binary_secrets_come_back_byte_for_byte(sm: Any, name: str) -> None:
    value = bytes(range(256)) * 3
    sm.create_secret(Name=name, SecretBinary=value)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == value
    assert "SecretString" not in got


def test_new_values_move_the_stage_labels(sm: Any, name: str) -> None:
    first = sm.create_secret(Name=name, SecretString="v1")["VersionId"]
    second = sm.put_secret_value(SecretId=name, SecretString="v2")
    assert second["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (previous["VersionId"], previous["SecretString"]) == (first, "v1")
    assert sm.get_secret_value(SecretId=name, VersionId=first)["SecretString"] == "v1"

    third = sm.put_secret_value(SecretId=name, SecretString="v3")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    # v1 lost its last label and is gone; v2 is the previous value now.
    assert stages == {second["VersionId"]: ["AWSPREVIOUS"], third: ["AWSCURRENT"]}
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionId=first)

    # A custom label goes to the new version without touching AWSCURRENT.
    staged = sm.put_secret_value(SecretId=name, SecretString="v4", VersionStages=["CANARY"])
    assert staged["VersionStages"] == ["CANARY"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v3"
    assert sm.get_secret_value(SecretId=name, VersionStage="CANARY")["SecretString"] == "v4"
    # A version and a stage it does not carry name nothing.
    expect_error(
        "ResourceNotFoundException",
        sm.get_secret_value,
        SecretId=name,
        VersionId=third,
        VersionStage="CANARY",
    )


def test_a_retried_put_is_a_no_op_and_a_version_never_changes(sm: Any, name: str) -> None:
    sm.create_secret(Name=name, SecretString="v1")
    token = str(uuid.uuid4())
    once = sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=token)
    changed = sm.describe_secret(SecretId=name)["LastChangedDate"]
    twice = sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=token)
    assert once["VersionId"] == twice["VersionId"] == token
    assert sm.describe_secret(SecretId=name)["LastChangedDate"] == changed
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
    expect_error(
        "ResourceExistsException",
        sm.put_secret_value,
        SecretId=name,
        SecretString="v3",
        ClientRequestToken=token,
    )
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"


def test_list_filters_sorts_and_pages(sm: Any) -> None:
    base = f"ecr-pullthroughcache/list-{uuid.uuid4().hex[:8]}"
    arns = []
    for i, (team, description) in enumerate(
        [("infra", "Docker Hub bot"), ("apps", "GHCR reader"), ("infra", "Quay robot")]
    ):
        made = sm.create_secret(
            Name=f"{base}/{i}",
            SecretString=f"value-{i}",
            Description=description,
            Tags=[{"Key": "team", "Value": team}],
        )
        arns.append(made["ARN"])
        time.sleep(0.01)  # distinct creation times

    def names(**params: Any) -> list[str]:
        return [s["Name"] for s in sm.list_secrets(**params)["SecretList"]]

    mine = {"Key": "name", "Values": [base]}
    assert names(Filters=[mine]) == [f"{base}/0", f"{base}/1", f"{base}/2"]
    assert names(Filters=[mine], SortOrder="desc") == [f"{base}/2", f"{base}/1", f"{base}/0"]
    assert names(Filters=[mine, {"Key": "tag-value", "Values": ["infra"]}]) == [
        f"{base}/0",
        f"{base}/2",
    ]
    assert names(Filters=[mine, {"Key": "tag-value", "Values": ["!infra"]}]) == [f"{base}/1"]
    # The description matches whatever its case; "all" looks everywhere.
    assert names(Filters=[mine, {"Key": "description", "Values": ["docker"]}]) == [f"{base}/0"]
    assert names(Filters=[mine, {"Key": "all", "Values": ["quay"]}]) == [f"{base}/2"]

    entry = sm.list_secrets(Filters=[mine])["SecretList"][0]
    assert entry["ARN"] == arns[0]
    assert entry["Tags"] == [{"Key": "team", "Value": "infra"}]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]

    first = sm.list_secrets(Filters=[mine], MaxResults=2)
    assert [s["Name"] for s in first["SecretList"]] == [f"{base}/0", f"{base}/1"]
    rest = sm.list_secrets(Filters=[mine], MaxResults=2, NextToken=first["NextToken"])
    assert [s["Name"] for s in rest["SecretList"]] == [f"{base}/2"]
    assert "NextToken" not in rest
    paged = sm.get_paginator("list_secrets").paginate(
        Filters=[mine], PaginationConfig={"PageSize": 1}
    )
    assert [s["Name"] for page in paged for s in page["SecretList"]] == names(Filters=[mine])
    expect_error("InvalidNextTokenException", sm.list_secrets, NextToken="not-a-token")


def test_delete_with_a_recovery_window_and_at_once(sm: Any, aws: AwsCli, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    before = time.time()
    scheduled = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert scheduled["ARN"] == arn
    seven_days = 7 * 86400
    assert before + seven_days - 5 <= scheduled["DeletionDate"].timestamp()
    assert scheduled["DeletionDate"].timestamp() <= time.time() + seven_days + 5

    # Described, listed on request only, and refused to every read and write.
    described = sm.describe_secret(SecretId=arn)
    assert described["DeletedDate"] == scheduled["DeletionDate"]
    mine = [{"Key": "name", "Values": [name]}]
    assert sm.list_secrets(Filters=mine)["SecretList"] == []
    planned = sm.list_secrets(Filters=mine, IncludePlannedDeletion=True)["SecretList"]
    assert [s["ARN"] for s in planned] == [arn]
    expect_error("InvalidRequestException", sm.get_secret_value, SecretId=name)
    expect_error("InvalidRequestException", sm.put_secret_value, SecretId=name, SecretString="x")
    expect_error("InvalidRequestException", sm.delete_secret, SecretId=name)
    # Its name stays taken while it waits.
    expect_error("InvalidRequestException", sm.create_secret, Name=name, SecretString="new")

    # ForceDeleteWithoutRecovery removes it at once, waiting or not; the name is free again.
    forced = aws("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert forced["Name"] == name
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=arn)
    again = sm.create_secret(Name=name, SecretString="new")
    assert again["ARN"] != arn  # a new secret: a new suffix
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=arn)

    default = sm.delete_secret(SecretId=name)  # 30 days unless told
    thirty_days = 30 * 86400
    assert abs(default["DeletionDate"].timestamp() - (time.time() + thirty_days)) < 60


def test_restore_brings_a_scheduled_secret_back_as_it_was(sm: Any, aws: AwsCli, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    sm.put_secret_value(SecretId=name, SecretString="v2")
    before = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    expect_error("InvalidRequestException", sm.get_secret_value, SecretId=name)

    restored = aws("restore-secret", "--secret-id", arn)
    assert restored == {"ARN": arn, "Name": name}
    described = sm.describe_secret(SecretId=name)
    assert "DeletedDate" not in described
    assert described["VersionIdsToStages"] == before
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "v1"
    mine = [{"Key": "name", "Values": [name]}]
    assert [s["ARN"] for s in sm.list_secrets(Filters=mine)["SecretList"]] == [arn]
    sm.put_secret_value(SecretId=name, SecretString="v3")  # writable again

    # A secret not scheduled for deletion is left as it is; one deleted at once is gone.
    assert sm.restore_secret(SecretId=name)["ARN"] == arn
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    expect_error("ResourceNotFoundException", sm.restore_secret, SecretId=arn)


def test_secrets_belong_to_their_region(server: DockyardProcess, sm: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="east")["ARN"]
    west = secrets_client(server.url, region="eu-west-1")
    expect_error("ResourceNotFoundException", west.get_secret_value, SecretId=name)
    expect_error("ResourceNotFoundException", west.get_secret_value, SecretId=arn)
    made = west.create_secret(Name=name, SecretString="west")
    assert re.match(_arn_pattern(name, "eu-west-1"), made["ARN"])
    assert west.get_secret_value(SecretId=name)["SecretString"] == "west"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "east"


def test_errors(sm: Any, sm_unvalidated: Any, name: str) -> None:
    sm.create_secret(Name=name, SecretString="v1")
    expect_error("ResourceExistsException", sm.create_secret, Name=name, SecretString="v2")
    missing = f"{name}-missing"
    for call in (sm.get_secret_value, sm.describe_secret, sm.delete_secret):
        expect_error("ResourceNotFoundException", call, SecretId=missing)
    expect_error(
        "ResourceNotFoundException", sm.put_secret_value, SecretId=missing, SecretString="x"
    )
    other_account = f"arn:aws:secretsmanager:{REGION}:111122223333:secret:{name}-AbCdEf"
    expect_error("AccessDeniedException", sm.get_secret_value, SecretId=other_account)

    expect_error("InvalidParameterException", sm.create_secret, Name="bad name!")
    expect_error(
        "InvalidParameterException",
        sm.create_secret,
        Name=f"{name}-both",
        SecretString="x",
        SecretBinary=b"x",
    )
    expect_error("InvalidParameterException", sm.put_secret_value, SecretId=name)
    expect_error(
        "InvalidParameterException", sm.delete_secret, SecretId=name, RecoveryWindowInDays=3
    )
    expect_error(
        "InvalidParameterException",
        sm.delete_secret,
        SecretId=name,
        RecoveryWindowInDays=7,
        ForceDeleteWithoutRecovery=True,
    )
    expect_error(
        "InvalidRequestException",
        sm.create_secret,
        Name=f"{name}-replica",
        AddReplicaRegions=[{"Region": "eu-west-1"}],
    )
    # What botocore would refuse itself: the front end's ValidationException.
    error = expect_error("ValidationException", sm_unvalidated.create_secret, Name="n" * 513)
    assert "'name'" in error.response["Error"]["Message"]
    expect_error("ValidationException", sm_unvalidated.get_secret_value, SecretId="")
    expect_error("ValidationException", sm_unvalidated.list_secrets, Filters=[{"Key": "color"}])
    # The secret is untouched by all of it.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v1"


def test_a_value_sealed_with_another_key_is_a_decryption_failure(
    server: DockyardProcess, sm: Any, name: str
) -> None:
    sm.create_secret(Name=name, SecretString="sealed with this server's key")
    # The row as a node with another secrets key would have written it.
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sealed elsewhere")
    with sqlite3.connect(server.data_dir / "metadata.db") as db:
        db.execute(
            "UPDATE secret_versions SET value_ciphertext = ? WHERE secret_id = "
            "(SELECT id FROM secrets WHERE name = ?)",
            (foreign, name),
        )
    expect_error("DecryptionFailure", sm.get_secret_value, SecretId=name)
    # Everything else about the secret still answers.
    assert sm.describe_secret(SecretId=name)["Name"] == name


def test_a_secret_past_its_deletion_date_cannot_be_restored(
    server: DockyardProcess, sm: Any, name: str
) -> None:
    arn = sm.create_secret(Name=name, SecretString="v1")["ARN"]
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    # Its window over, as seven days later.
    with sqlite3.connect(server.data_dir / "metadata.db") as db:
        db.execute(
            "UPDATE secrets SET deletion_date = '2000-01-01 00:00:00.000000' WHERE name = ?",
            (name,),
        )
    expect_error("ResourceNotFoundException", sm.restore_secret, SecretId=arn)
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=arn)
    assert sm.create_secret(Name=name, SecretString="new")["ARN"] != arn


def test_update_secret_changes_details_and_adds_a_current_version(
    sm: Any, aws: AwsCli, name: str
) -> None:
    arn = sm.create_secret(Name=name, SecretString="v1", Description="first")["ARN"]
    first = sm.get_secret_value(SecretId=name)["VersionId"]
    changed_before = sm.describe_secret(SecretId=name)["LastChangedDate"]

    only_details = sm.update_secret(SecretId=name, Description="second", KmsKeyId="alias/mine")
    assert only_details["ARN"] == arn and "VersionId" not in only_details
    described = sm.describe_secret(SecretId=name)
    assert (described["Description"], described["KmsKeyId"]) == ("second", "alias/mine")
    assert described["LastChangedDate"] >= changed_before
    assert sm.get_secret_value(SecretId=name)["VersionId"] == first  # no new version

    updated = aws("update-secret", "--secret-id", arn, "--secret-string", "v2")
    assert updated["ARN"] == arn and updated["VersionId"] != first
    current = sm.get_secret_value(SecretId=name)
    assert (current["SecretString"], current["VersionId"]) == ("v2", updated["VersionId"])
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (previous["SecretString"], previous["VersionId"]) == ("v1", first)
    assert sm.describe_secret(SecretId=name)["Description"] == "second"

    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    error = expect_error(
        "InvalidRequestException", sm.update_secret, SecretId=name, Description="x"
    )
    # The words tools match to tell a secret on its way out (Terraform's provider does).
    assert "because it was marked for deletion" in error.response["Error"]["Message"]
    expect_error(
        "ResourceNotFoundException", sm.update_secret, SecretId=f"{name}-gone", Description="x"
    )


def test_version_stages_move_as_secrets_manager_moves_them(sm: Any, aws: AwsCli, name: str) -> None:
    sm.create_secret(Name=name, SecretString="one", ClientRequestToken="v1" + "0" * 30)
    v1 = "v1" + "0" * 30
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]

    def stages() -> dict[str, list[str]]:
        return {
            v: sorted(s) for v, s in sm.describe_secret(SecretId=name)["VersionIdsToStages"].items()
        }

    assert stages() == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}

    # A new label goes to a version; a held one moves only from the version that holds it.
    sm.update_secret_version_stage(SecretId=name, VersionStage="BLUE", MoveToVersionId=v1)
    assert stages() == {v1: ["AWSPREVIOUS", "BLUE"], v2: ["AWSCURRENT"]}
    move = {"SecretId": name, "VersionStage": "BLUE", "MoveToVersionId": v2}
    expect_error("InvalidParameterException", sm.update_secret_version_stage, **move)
    expect_error(
        "InvalidParameterException", sm.update_secret_version_stage, **move, RemoveFromVersionId=v2
    )
    sm.update_secret_version_stage(**move, RemoveFromVersionId=v1)
    assert stages() == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT", "BLUE"]}

    # AWSCURRENT moves (taking AWSPREVIOUS with it) but is never simply removed.
    error = expect_error(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        RemoveFromVersionId=v2,
    )
    assert "can't be completely removed" in error.response["Error"]["Message"]
    aws(
        "update-secret-version-stage", "--secret-id", name, "--version-stage", "AWSCURRENT",
        "--move-to-version-id", v1, "--remove-from-version-id", v2,
    )  # fmt: skip
    assert stages() == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS", "BLUE"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    expect_error(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="GREEN",
        MoveToVersionId="no-such-version-id-00000000000000",
    )

    # Listed oldest first, a page at a time.
    listed = aws("list-secret-version-ids", "--secret-id", name)
    assert listed["Name"] == name
    assert [(v["VersionId"], sorted(v["VersionStages"])) for v in listed["Versions"]] == [
        (v1, ["AWSCURRENT"]),
        (v2, ["AWSPREVIOUS", "BLUE"]),
    ]
    first = sm.list_secret_version_ids(SecretId=name, MaxResults=1)
    rest = sm.list_secret_version_ids(SecretId=name, MaxResults=1, NextToken=first["NextToken"])
    assert [v["VersionId"] for v in first["Versions"] + rest["Versions"]] == [v1, v2]
    assert "NextToken" not in rest

    # A version left without a label is dropped.
    for label in ("AWSPREVIOUS", "BLUE"):
        sm.update_secret_version_stage(SecretId=name, VersionStage=label, RemoveFromVersionId=v2)
    assert stages() == {v1: ["AWSCURRENT"]}
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionId=v2)


def test_tags_are_added_replaced_and_removed(sm: Any, name: str) -> None:
    sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "team", "Value": "a"}])

    def tags() -> list[tuple[str, str]]:
        return [(t["Key"], t["Value"]) for t in sm.describe_secret(SecretId=name).get("Tags", [])]

    sm.tag_resource(
        SecretId=name, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "ci"}]
    )
    assert tags() == [("team", "b"), ("env", "ci")]
    sm.untag_resource(SecretId=name, TagKeys=["team", "never-there"])
    assert tags() == [("env", "ci")]
    many = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
    expect_error("InvalidParameterException", sm.tag_resource, SecretId=name, Tags=many)
    assert tags() == [("env", "ci")]
    expect_error(
        "ResourceNotFoundException", sm.tag_resource, SecretId=f"{name}-gone", Tags=many[:1]
    )


def test_a_secret_has_no_resource_policy(sm: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    found = sm.get_resource_policy(SecretId=name)
    assert (found["ARN"], found["Name"]) == (arn, name) and "ResourcePolicy" not in found
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert sm.get_resource_policy(SecretId=arn)["ARN"] == arn  # still there while it waits
    expect_error("ResourceNotFoundException", sm.get_resource_policy, SecretId=f"{name}-gone")
