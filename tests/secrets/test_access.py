"""Who may use a secret (the one policy decision, with ``secretsmanager:*`` actions on the
secret's ARN), what IAM's policy simulation says of it, and that no value reaches the
server's log or its database in the clear."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.authz import allow, document, make_user
from tests.support.ecr import ACCOUNT, REGION, expect_error, make_client
from tests.support.secrets import HtpasswdDistribution, secrets_client
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(120)

CACHE_SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/*"


def _user(iam: Any, *statements: dict[str, Any]) -> tuple[str, str]:
    return make_user(iam, f"sm-{uuid.uuid4().hex[:8]}", inline=json.dumps(document(*statements)))


def test_policies_decide_each_action_on_each_secret(
    server: DockyardProcess, sm: Any, iam: Any, name: str
) -> None:
    other = f"team/{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=other, SecretString="not for the cache operator")
    key = _user(
        iam,
        allow(
            ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret"],
            CACHE_SECRETS,
        ),
    )
    operator = secrets_client(server.url, key=key)
    arn = operator.create_secret(Name=name, SecretString="x")["ARN"]
    assert operator.describe_secret(SecretId=arn)["Name"] == name
    # Only what the policy names, and only where it says.
    expect_error("AccessDeniedException", operator.create_secret, Name=f"{other}-2")
    expect_error("AccessDeniedException", operator.describe_secret, SecretId=other)
    error = expect_error("AccessDeniedException", operator.get_secret_value, SecretId=name)
    message = error.response["Error"]["Message"]
    assert "secretsmanager:GetSecretValue" in message and arn in message
    expect_error("AccessDeniedException", operator.list_secrets)
    expect_error("AccessDeniedException", operator.delete_secret, SecretId=name)

    # A policy naming the one secret's exact ARN (suffix and all) reaches it.
    reader = secrets_client(server.url, key=_user(iam, allow("secretsmanager:GetSecretValue", arn)))
    assert reader.get_secret_value(SecretId=name)["SecretString"] == "x"
    expect_error("AccessDeniedException", reader.get_secret_value, SecretId=other)

    # An explicit deny wins over any allow.
    denied = secrets_client(
        server.url,
        key=_user(
            iam,
            allow("secretsmanager:*"),
            {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
        ),
    )
    assert name in [s["Name"] for s in denied.list_secrets()["SecretList"]]
    expect_error("AccessDeniedException", denied.get_secret_value, SecretId=arn)


def _when_tagged_infra(action: str) -> dict[str, Any]:
    """Allows ``action`` only for a request that tags with team=infra."""
    return {
        "Effect": "Allow",
        "Action": f"secretsmanager:{action}",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "infra"}},
    }


def test_request_tags_are_conditions_of_create(
    server: DockyardProcess, iam: Any, name: str
) -> None:
    creator = secrets_client(server.url, key=_user(iam, _when_tagged_infra("CreateSecret")))
    expect_error("AccessDeniedException", creator.create_secret, Name=name, SecretString="x")
    made = creator.create_secret(
        Name=name, SecretString="x", Tags=[{"Key": "team", "Value": "infra"}]
    )
    assert made["Name"] == name


def test_request_tags_are_conditions_of_tagging(
    server: DockyardProcess, sm: Any, iam: Any, name: str
) -> None:
    sm.create_secret(Name=name, SecretString="x")
    tagger = secrets_client(server.url, key=_user(iam, _when_tagged_infra("TagResource")))
    other = [{"Key": "team", "Value": "web"}]
    expect_error("AccessDeniedException", tagger.tag_resource, SecretId=name, Tags=other)
    tagger.tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "infra"}])
    # Each of the new operations is an action of its own.
    expect_error("AccessDeniedException", tagger.untag_resource, SecretId=name, TagKeys=["team"])
    expect_error("AccessDeniedException", tagger.get_resource_policy, SecretId=name)
    expect_error("AccessDeniedException", tagger.update_secret, SecretId=name, Description="d")
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "team", "Value": "infra"}]


def test_policy_simulation_knows_secrets_manager_actions(sm: Any, iam: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    user = f"sim-{uuid.uuid4().hex[:8]}"
    make_user(iam, user, inline=json.dumps(document(allow("secretsmanager:Get*", CACHE_SECRETS))))
    results = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}",
        ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
        ResourceArns=[arn],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {
        "secretsmanager:GetSecretValue": "allowed",
        "secretsmanager:DeleteSecret": "implicitDeny",
    }
    # Another account's secret is that account's to grant: an identity policy is not enough.
    foreign = f"arn:aws:secretsmanager:{REGION}:111122223333:secret:ecr-pullthroughcache/x-AbCdEf"
    wide = f"wide-{uuid.uuid4().hex[:8]}"
    make_user(iam, wide, inline=json.dumps(document(allow("secretsmanager:*"))))
    (result,) = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{wide}",
        ActionNames=["secretsmanager:GetSecretValue"],
        ResourceArns=[foreign],
    )["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"


def test_values_never_reach_the_log_or_the_database_in_the_clear(
    server: DockyardProcess, sm: Any, name: str, tmp_path: Path
) -> None:
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    binary = f"binary-{uuid.uuid4().hex}".encode()
    sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "accessToken": first}))
    sm.put_secret_value(SecretId=name, SecretString=second)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == second
    assert first in sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"]
    sm.create_secret(Name=f"{name}-bin", SecretBinary=binary)
    assert sm.get_secret_value(SecretId=f"{name}-bin")["SecretBinary"] == binary
    # A failing request carrying a value, too.
    expect_error("ResourceExistsException", sm.create_secret, Name=name, SecretString=first)

    # The server uses a secret itself: validating a rule sends it to an upstream registry.
    password = f"upstream-{uuid.uuid4().hex}"
    upstream = HtpasswdDistribution(tmp_path / "upstream", "bot", password)
    upstream.start_ready()
    try:
        creds = sm.create_secret(
            Name=f"{name}-up", SecretString=json.dumps({"username": "bot", "accessToken": password})
        )["ARN"]
        ecr = make_client(server.url)
        prefix = f"logs-{uuid.uuid4().hex[:8]}"
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url, credentialArn=creds
        )
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)["isValid"]
    finally:
        upstream.stop()

    log = server.log_text()
    # The server logs at debug level here: requests were logged, with their values redacted.
    assert "Secrets Manager CreateSecret" in log and "REDACTED" in log
    assert "ECR ValidatePullThroughCacheRule" in log
    for value in (first, second, binary.decode(), password):
        assert value not in log
    # The database (and its write-ahead log) holds them sealed only.
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("metadata.db*"))
    assert stored
    for value in (
        first.encode(),
        second.encode(),
        binary,
        base64.b64encode(binary),
        password.encode(),
    ):
        assert value not in stored
