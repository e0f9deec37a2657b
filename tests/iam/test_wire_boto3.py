"""IAM and STS over the wire, driven by boto3 against a real Dockyard (secure default mode):
the query protocol parsed by botocore, errors with IAM's codes and statuses, policy documents
URL-encoded as IAM sends them, credentials from CreateAccessKey and AssumeRole that work."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import QueryParser

from tests.support.ecr import ACCOUNT, REGION
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

ECR_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
}
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


def trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
            ],
        }
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("iam-wire-data"),
        log_dir=tmp_path_factory.mktemp("iam-wire-log"),
        open_access=False,
        extra_args=["--log-level", "debug"],
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


def session(**keys: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=keys.get("access_key_id", ROOT_ACCESS_KEY_ID),
        aws_secret_access_key=keys.get("secret_access_key", ROOT_SECRET_ACCESS_KEY),
        aws_session_token=keys.get("session_token"),
        region_name=REGION,
    )


def client(server: DockyardProcess, service: str, **keys: str) -> Any:
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return session(**keys).client(service, endpoint_url=server.url, config=config)


@pytest.fixture(scope="module")
def iam(server: DockyardProcess) -> Any:
    return client(server, "iam")


@pytest.fixture(scope="module")
def sts(server: DockyardProcess) -> Any:
    return client(server, "sts")


@pytest.fixture
def name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def fails(code: str, status: int, call: Callable[..., Any], /, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response
    assert error["Error"]["Code"] == code, error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status, error
    assert error["ResponseMetadata"]["RequestId"]
    return caught.value


def eventually(check: Callable[[], Any], seconds: float = 5) -> Any:
    """``check()`` once it stops raising (authorization decisions are cached for a second)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (ClientError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


# --------------------------------------------------------------------------- users and keys


def test_user_lifecycle(iam: Any, name: str) -> None:
    made = iam.create_user(UserName=name, Path="/ci/")["User"]
    assert made["UserName"] == name and made["Path"] == "/ci/"
    assert made["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/ci/{name}"
    assert made["UserId"].startswith("AIDA")
    assert iam.get_user(UserName=name)["User"] == made
    assert name in [u["UserName"] for u in iam.list_users()["Users"]]
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/ci/")["Users"]] == [name]
    fails("EntityAlreadyExists", 409, iam.create_user, UserName=name)
    iam.delete_user(UserName=name)
    error = fails("NoSuchEntity", 404, iam.get_user, UserName=name)
    assert str(error.response["Error"]["Message"]) == f"The user with name {name} cannot be found."


def test_get_user_without_a_name_is_the_caller(
    server: DockyardProcess, iam: Any, name: str
) -> None:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = client(
        server, "iam", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    iam.put_user_policy(
        UserName=name,
        PolicyName="self",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}],
            }
        ),
    )
    assert eventually(lambda: as_user.get_user())["User"]["UserName"] == name


def test_access_keys(server: DockyardProcess, iam: Any, name: str) -> None:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name and key["Status"] == "Active"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) >= 40
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    # The new key signs requests (STS needs no permission to say who it is).
    as_user = client(
        server, "sts", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    assert as_user.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    iam.create_access_key(UserName=name)
    fails("LimitExceeded", 409, iam.create_access_key, UserName=name)
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    }
    assert statuses[key["AccessKeyId"]] == "Inactive"
    fails("InvalidClientTokenId", 403, as_user.get_caller_identity)
    fails("DeleteConflict", 409, iam.delete_user, UserName=name)
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=name)


# --------------------------------------------------------------------------- groups


def test_groups(iam: Any, name: str) -> None:
    group = iam.create_group(GroupName=name)["Group"]
    assert group["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/{name}"
    assert group["GroupId"].startswith("AGPA")
    iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName=name, UserName=name)
    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupName"] == name
    assert [u["UserName"] for u in got["Users"]] == [name]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [name]
    assert name in [g["GroupName"] for g in iam.list_groups()["Groups"]]
    fails("DeleteConflict", 409, iam.delete_group, GroupName=name)
    iam.remove_user_from_group(GroupName=name, UserName=name)
    assert iam.list_groups_for_user(UserName=name)["Groups"] == []
    iam.delete_group(GroupName=name)
    fails("NoSuchEntity", 404, iam.get_group, GroupName=name)


# --------------------------------------------------------------------------- policies


@pytest.mark.parametrize("kind", ["User", "Group", "Role"])
def test_inline_policies(iam: Any, name: str, kind: str) -> None:
    if kind == "Role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ACCOUNT))
    else:
        getattr(iam, f"create_{kind.lower()}")(**{f"{kind}Name": name})
    owner = {f"{kind}Name": name}
    snake = kind.lower()
    getattr(iam, f"put_{snake}_policy")(
        **owner, PolicyName="ecr", PolicyDocument=json.dumps(ECR_ALL)
    )
    got = getattr(iam, f"get_{snake}_policy")(**owner, PolicyName="ecr")
    # IAM sends the document URL-encoded; botocore decodes it back to JSON.
    assert got["PolicyDocument"] == ECR_ALL and got[f"{kind}Name"] == name
    assert getattr(iam, f"list_{snake}_policies")(**owner)["PolicyNames"] == ["ecr"]
    getattr(iam, f"delete_{snake}_policy")(**owner, PolicyName="ecr")
    assert getattr(iam, f"list_{snake}_policies")(**owner)["PolicyNames"] == []
    fails("NoSuchEntity", 404, getattr(iam, f"get_{snake}_policy"), **owner, PolicyName="ecr")


def test_malformed_policy_documents_are_refused(iam: Any, name: str) -> None:
    iam.create_user(UserName=name)
    error = fails(
        "MalformedPolicyDocument",
        400,
        iam.put_user_policy,
        UserName=name,
        PolicyName="bad",
        PolicyDocument='{"Version": "2012-10-17", "Statement": 1}',
    )
    assert error.response["Error"]["Message"]
    fails(
        "MalformedPolicyDocument",
        400,
        iam.create_policy,
        PolicyName=name,
        PolicyDocument="not json",
    )


@pytest.mark.parametrize("kind", ["User", "Group", "Role"])
def test_managed_policies_and_attachments(iam: Any, name: str, kind: str) -> None:
    policy = iam.create_policy(
        PolicyName=name, PolicyDocument=json.dumps(ECR_ALL), Description="push and pull"
    )["Policy"]
    assert policy["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["PolicyName"] == name
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == ECR_ALL and version["IsDefaultVersion"] is True
    fails("NoSuchEntity", 404, iam.get_policy_version, PolicyArn=policy["Arn"], VersionId="v2")
    assert name in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    if kind == "Role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ACCOUNT))
    else:
        getattr(iam, f"create_{kind.lower()}")(**{f"{kind}Name": name})
    owner = {f"{kind}Name": name}
    snake = kind.lower()
    for arn in (policy["Arn"], READ_ONLY):
        getattr(iam, f"attach_{snake}_policy")(**owner, PolicyArn=arn)
    attached = getattr(iam, f"list_attached_{snake}_policies")(**owner)["AttachedPolicies"]
    assert sorted(a["PolicyArn"] for a in attached) == sorted([policy["Arn"], READ_ONLY])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 1
    fails("DeleteConflict", 409, iam.delete_policy, PolicyArn=policy["Arn"])
    getattr(iam, f"detach_{snake}_policy")(**owner, PolicyArn=policy["Arn"])
    iam.delete_policy(PolicyArn=policy["Arn"])
    fails("NoSuchEntity", 404, iam.get_policy, PolicyArn=policy["Arn"])


def test_aws_managed_ecr_policies_are_listed(iam: Any) -> None:
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    assert {
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEC2ContainerRegistryPowerUser",
        "AmazonEC2ContainerRegistryFullAccess",
    } <= names
    default = iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=READ_ONLY, VersionId=default)["PolicyVersion"]
    assert "ecr:BatchGetImage" in json.dumps(document["Document"])


def test_lists_page_with_marker_and_max_items(iam: Any, name: str) -> None:
    for i in range(5):
        iam.create_user(UserName=f"{name}-{i}", Path=f"/{name}/")
    first = iam.list_users(PathPrefix=f"/{name}/", MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Users"]) == 2
    pages = iam.get_paginator("list_users").paginate(
        PathPrefix=f"/{name}/", PaginationConfig={"PageSize": 2}
    )
    seen = [u["UserName"] for p in pages for u in p["Users"]]
    assert seen == [f"{name}-{i}" for i in range(5)]


# --------------------------------------------------------------------------- roles and STS


def test_roles(iam: Any, name: str) -> None:
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust(ACCOUNT),
        Description="deploys",
        MaxSessionDuration=7200,
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert role["RoleId"].startswith("AROA") and role["MaxSessionDuration"] == 7200
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(trust(ACCOUNT))
    assert got["Description"] == "deploys"
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    iam.delete_role(RoleName=name)
    fails("NoSuchEntity", 404, iam.get_role, RoleName=name)


def test_caller_identity_of_root(sts: Any) -> None:
    found = sts.get_caller_identity()
    assert (found["Account"], found["Arn"], found["UserId"]) == (
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:root",
        ACCOUNT,
    )


def test_assume_role_gives_working_temporary_credentials(
    server: DockyardProcess, iam: Any, sts: Any, name: str
) -> None:
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ACCOUNT))["Role"]
    iam.attach_role_policy(RoleName=name, PolicyArn=READ_ONLY)
    started = time.time()
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ci-run", DurationSeconds=900)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert credentials["SessionToken"] and credentials["SecretAccessKey"]
    assert abs(credentials["Expiration"].timestamp() - (started + 900)) < 60
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/ci-run"
    assert assumed["AssumedRoleUser"] == {"Arn": arn, "AssumedRoleId": f"{role['RoleId']}:ci-run"}
    keys = {
        "access_key_id": credentials["AccessKeyId"],
        "secret_access_key": credentials["SecretAccessKey"],
        "session_token": credentials["SessionToken"],
    }
    assert client(server, "sts", **keys).get_caller_identity()["Arn"] == arn
    ecr = client(server, "ecr", **keys)
    assert "repositories" in eventually(ecr.describe_repositories)
    # Without the token the key is nothing.
    no_token = {k: v for k, v in keys.items() if k != "session_token"}
    fails("InvalidClientTokenId", 403, client(server, "sts", **no_token).get_caller_identity)


def test_assume_role_needs_the_trust_policy(iam: Any, sts: Any, name: str) -> None:
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=trust("arn:aws:iam::111111111111:root")
    )
    fails("AccessDenied", 403, sts.assume_role, RoleArn=role["Role"]["Arn"], RoleSessionName="nope")
    fails(
        "ValidationError", 400, sts.assume_role, RoleArn=role["Role"]["Arn"], RoleSessionName="a b"
    )


def test_a_user_without_iam_permissions_is_denied(
    server: DockyardProcess, iam: Any, name: str
) -> None:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = client(
        server, "iam", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    error = fails("AccessDenied", 403, as_user.create_user, UserName=f"{name}-x")
    message = error.response["Error"]["Message"]
    assert f"arn:aws:iam::{ACCOUNT}:user/{name}" in message and "iam:CreateUser" in message
    iam.attach_user_policy(
        UserName=name,
        PolicyArn=iam.create_policy(
            PolicyName=name,
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"}],
                }
            ),
        )["Policy"]["Arn"],
    )
    eventually(lambda: as_user.create_user(UserName=f"{name}-x"))


# --------------------------------------------------------------------------- the protocol


def signed_post(server: DockyardProcess, service: str, form: str) -> httpx.Response:
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), service, REGION).add_auth(
        request
    )
    return httpx.post(server.url + "/", content=form.encode(), headers=dict(request.headers))


def error_of(response: httpx.Response) -> dict[str, Any]:
    parsed: dict[str, Any] = QueryParser().parse(
        {
            "body": response.content,
            "headers": dict(response.headers),
            "status_code": response.status_code,
        },
        None,
    )
    return parsed


@pytest.mark.parametrize(("service", "version"), [("iam", "2010-05-08"), ("sts", "2011-06-15")])
def test_unknown_actions_are_invalid_action(
    server: DockyardProcess, service: str, version: str
) -> None:
    r = signed_post(server, service, f"Action=Frobnicate&Version={version}")
    assert r.status_code == 400
    parsed = error_of(r)
    assert parsed["Error"]["Code"] == "InvalidAction"
    assert (
        parsed["Error"]["Message"] == f"Could not find operation Frobnicate for version {version}"
    )
    assert parsed["ResponseMetadata"]["RequestId"] == r.headers["x-amzn-requestid"]


def test_the_scope_picks_the_service(server: DockyardProcess) -> None:
    # GetCallerIdentity exists in STS, not in IAM: signed for iam, it is an unknown action.
    assert (
        signed_post(server, "sts", "Action=GetCallerIdentity&Version=2011-06-15").status_code == 200
    )
    r = signed_post(server, "iam", "Action=GetCallerIdentity&Version=2011-06-15")
    assert error_of(r)["Error"]["Code"] == "InvalidAction"


def test_secrets_stay_out_of_the_debug_log(
    server: DockyardProcess, iam: Any, sts: Any, name: str
) -> None:
    iam.create_user(UserName=name)
    secret = iam.create_access_key(UserName=name)["AccessKey"]["SecretAccessKey"]
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ACCOUNT))["Role"]
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="logs")["Credentials"]
    log = server.log_text()
    assert f"'UserName': '{name}'" in log  # requests are logged at debug level
    for value in (
        secret,
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
        ROOT_SECRET_ACCESS_KEY,
    ):
        assert value not in log


def test_assume_role_by_a_user_needs_its_policy_unless_the_trust_names_it(
    server: DockyardProcess, iam: Any, name: str
) -> None:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = client(
        server, "sts", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    # Trusting the account is not enough: the user's own policies must allow it too.
    by_account = iam.create_role(RoleName=f"{name}-a", AssumeRolePolicyDocument=trust(ACCOUNT))
    error = fails(
        "AccessDenied",
        403,
        as_user.assume_role,
        RoleArn=by_account["Role"]["Arn"],
        RoleSessionName="s1",
    )
    assert "sts:AssumeRole" in error.response["Error"]["Message"]
    # Trusting the user itself is.
    by_user = iam.create_role(RoleName=f"{name}-u", AssumeRolePolicyDocument=trust(user_arn))
    as_user.assume_role(RoleArn=by_user["Role"]["Arn"], RoleSessionName="s2")
    iam.put_user_policy(
        UserName=name,
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": by_account["Role"]["Arn"],
                    }
                ],
            }
        ),
    )
    eventually(lambda: as_user.assume_role(RoleArn=by_account["Role"]["Arn"], RoleSessionName="s3"))
