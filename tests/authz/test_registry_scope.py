"""Registry policies under REGISTRY_POLICY_SCOPE (V1: the registry-level actions only; V2,
the default: every ECR action), a group member's permissions, and a role of account A
assumed from account B, pulling with its session's registry password."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.authz import (
    READ_ONLY,
    REGION,
    allow,
    document,
    dumps,
    ecr_as,
    password_of,
    skopeo_pull,
)
from tests.support.ecr import ACCOUNT, expect_error
from tests.support.servers import DockyardProcess

pytestmark = [pytest.mark.clients, pytest.mark.timeout(300)]


def _b_user(b_iam: Any, policy: dict[str, Any]) -> tuple[str, tuple[str, str]]:
    name = f"b-{uuid.uuid4().hex[:8]}"
    b_iam.create_user(UserName=name)
    b_iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=dumps(policy))
    made = b_iam.create_access_key(UserName=name)["AccessKey"]
    return name, (made["AccessKeyId"], made["SecretAccessKey"])


@pytest.fixture
def scope_v2(ecr: Any) -> Any:
    """REGISTRY_POLICY_SCOPE back to V2 and no registry policy after the test."""
    yield ecr
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V2")
    with contextlib.suppress(ecr.exceptions.RegistryPolicyNotFoundException):
        ecr.delete_registry_policy()


def test_registry_policy_scope(
    authz_server: DockyardProcess,
    scope_v2: Any,
    pushed: tuple[str, str],
    account_b: tuple[str, Any],
) -> None:
    ecr = scope_v2
    repo, digest = pushed
    b_account, b_iam = account_b
    _, key = _b_user(b_iam, document(allow(["ecr:BatchGetImage", "ecr:CreateRepository"], "*")))
    b = ecr_as(authz_server.url, key)
    grant = document(
        {
            "Sid": "AccountB",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": ["ecr:BatchGetImage", "ecr:CreateRepository"],
            "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
        }
    )
    ecr.put_registry_policy(policyText=dumps(grant))
    pull = {"registryId": ACCOUNT, "repositoryName": repo, "imageIds": [{"imageDigest": digest}]}
    # V2 (the default): the registry policy covers every action, pulls included.
    assert b.batch_get_image(**pull)["images"]
    created = f"from-b-{uuid.uuid4().hex[:6]}"
    b.create_repository(registryId=ACCOUNT, repositoryName=created)
    assert ecr.describe_repositories(repositoryNames=[created])["repositories"]
    # V1: only the registry-level actions (CreateRepository, ReplicateImage,
    # BatchImportUpstreamImage) read the registry policy.
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    error = expect_error("AccessDeniedException", b.batch_get_image, **pull)
    assert "because no resource-based policy allows" in error.response["Error"]["Message"]
    b.create_repository(registryId=ACCOUNT, repositoryName=f"{created}-v1")


def test_group_member_gets_the_groups_policies(
    authz_server: DockyardProcess, iam: Any, pushed: tuple[str, str], user: Any, tmp_path: Path
) -> None:
    repo, _ = pushed
    group = f"readers-{uuid.uuid4().hex[:6]}"
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    member = user("member")
    client = ecr_as(authz_server.url, member.key)
    expect_error("AccessDeniedException", client.get_authorization_token)
    iam.add_user_to_group(GroupName=group, UserName=member.name)
    password = None
    for _ in range(40):  # the decision cache lives a second
        try:
            password = password_of(client)
            break
        except ClientError:
            time.sleep(0.1)
    assert password is not None
    pulled = skopeo_pull(authz_server.host, password, repo, "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr


def test_role_assumed_from_another_account_pulls(
    authz_server: DockyardProcess,
    iam: Any,
    pushed: tuple[str, str],
    account_b: tuple[str, Any],
    tmp_path: Path,
) -> None:
    repo, digest = pushed
    b_account, b_iam = account_b
    role = f"deployer-{uuid.uuid4().hex[:6]}"
    trust = document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": "sts:AssumeRole",
        }
    )
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=dumps(trust))["Role"]["Arn"]
    # The ECS/EKS pull-only policy of AWS's guides, as the role's identity policy.
    pull_only = document(
        allow(
            [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ]
        )
    )
    iam.put_role_policy(RoleName=role, PolicyName="pull", PolicyDocument=dumps(pull_only))
    _, key = _b_user(b_iam, document(allow("sts:AssumeRole", role_arn)))
    sts = boto3.session.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name=REGION
    ).client("sts", endpoint_url=authz_server.url)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="deploy")["Credentials"]
    session = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    as_role = ecr_as(authz_server.url, session, session_token=credentials["SessionToken"])
    # The role is A's: its own policy suffices in A's registry.
    images = as_role.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert [i["imageId"]["imageDigest"] for i in images["images"]] == [digest]
    password = password_of(as_role)
    pulled = skopeo_pull(authz_server.host, password, repo, "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    error = expect_error("AccessDeniedException", as_role.delete_repository, repositoryName=repo)
    assert error.response["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/deploy is not authorized to perform: "
        "ecr:DeleteRepository"
    )
