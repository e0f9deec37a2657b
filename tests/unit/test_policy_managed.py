"""The AWS-managed ECR policies parse as identity policies and grant what AWS says they do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.domain.managed_policies import MANAGED_POLICIES, by_arn, by_name
from dockyard.domain.policy import AccessRequest, evaluate, parse_policy

ACCOUNT = "111122223333"
REPO = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize("arn", sorted(MANAGED_POLICIES))
def test_each_managed_policy_parses_as_an_identity_policy(arn: str) -> None:
    managed = MANAGED_POLICIES[arn]
    assert arn == f"arn:aws:iam::aws:policy/{managed.name}"
    policy = parse_policy(managed.document, kind="identity", name=arn)
    assert policy.name == arn and policy.statements


def test_the_ecr_policies_exist_by_name() -> None:
    for name in ("ReadOnly", "PowerUser", "FullAccess", "PullOnly"):
        assert by_name(f"AmazonEC2ContainerRegistry{name}") is not None
    assert by_arn("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly") is not None
    assert by_name("NoSuchPolicy") is None


def _allowed(name: str, action: str, resource: str = REPO) -> bool:
    managed = by_name(name)
    assert managed is not None
    policy = parse_policy(managed.document, kind="identity", name=managed.arn)
    request = AccessRequest(
        f"arn:aws:iam::{ACCOUNT}:user/u", ACCOUNT, action, resource, username="u"
    )
    decision = evaluate(
        request,
        identity_policies=[policy],
        resource_policy=None,
        resource_account=ACCOUNT,
        now=NOW,
    )
    return decision.allowed


@pytest.mark.parametrize(
    ("name", "action", "allowed"),
    [
        ("AmazonEC2ContainerRegistryReadOnly", "ecr:BatchGetImage", True),
        ("AmazonEC2ContainerRegistryReadOnly", "ecr:DescribeImages", True),
        ("AmazonEC2ContainerRegistryReadOnly", "ecr:PutImage", False),
        ("AmazonEC2ContainerRegistryReadOnly", "ecr:InitiateLayerUpload", False),
        ("AmazonEC2ContainerRegistryPowerUser", "ecr:PutImage", True),
        ("AmazonEC2ContainerRegistryPowerUser", "ecr:CompleteLayerUpload", True),
        ("AmazonEC2ContainerRegistryPowerUser", "ecr:DeleteRepository", False),
        ("AmazonEC2ContainerRegistryPowerUser", "ecr:SetRepositoryPolicy", False),
        ("AmazonEC2ContainerRegistryFullAccess", "ecr:DeleteRepository", True),
        ("AmazonEC2ContainerRegistryFullAccess", "ecr:SetRepositoryPolicy", True),
        ("AmazonEC2ContainerRegistryPullOnly", "ecr:BatchGetImage", True),
        ("AmazonEC2ContainerRegistryPullOnly", "ecr:GetDownloadUrlForLayer", True),
        ("AmazonEC2ContainerRegistryPullOnly", "ecr:DescribeImages", False),
        ("AmazonEC2ContainerRegistryPullOnly", "ecr:PutImage", False),
        ("AdministratorAccess", "ecr:DeleteRepository", True),
        ("AdministratorAccess", "iam:CreateUser", True),
    ],
)
def test_what_each_managed_policy_grants(name: str, action: str, allowed: bool) -> None:
    assert _allowed(name, action) is allowed


def test_get_authorization_token_on_star() -> None:
    assert _allowed("AmazonEC2ContainerRegistryPullOnly", "ecr:GetAuthorizationToken", "*")
