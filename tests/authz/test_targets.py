"""The mapping from requests to IAM actions and resources, and how the authorizer combines
a repository policy with a registry policy (pure: no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dockyard.domain.identity import Principal, PrincipalKind
from dockyard.domain.names import RepositoryName
from dockyard.domain.policy import Decision, Reason
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.services.authorization import (
    NO_FACTS,
    Target,
    _Inputs,
    denial_message,
    ecr_targets,
    evaluate_inputs,
    repository_target,
)

A, B, REGION = "111111111111", "222222222222", "us-east-1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = RepositoryKey(Scope(A, REGION), RepositoryName.parse("team/app"))
ARN = f"arn:aws:ecr:{REGION}:{A}:repository/team/app"


def test_ecr_operations_name_their_repository() -> None:
    assert ecr_targets("PutImage", {"repositoryName": "team/app"}, A, REGION) == [
        Target("ecr:PutImage", ARN, A, KEY)
    ]
    other = ecr_targets("BatchGetImage", {"repositoryName": "x/y", "registryId": B}, A, REGION)
    assert [(t.resource_arn, t.account_id) for t in other] == [
        (f"arn:aws:ecr:{REGION}:{B}:repository/x/y", B)
    ]
    tagged = ecr_targets("TagResource", {"resourceArn": ARN, "tags": []}, B, REGION)
    assert tagged == [Target("ecr:TagResource", ARN, A, KEY)]
    both = ecr_targets("DescribeRepositories", {"repositoryNames": ["a1", "b2"]}, A, REGION)
    assert [t.resource_arn.rsplit("/", 1)[1] for t in both] == ["a1", "b2"]
    (every,) = ecr_targets("DescribeRepositories", {}, A, REGION)
    assert every.resource_arn == f"arn:aws:ecr:{REGION}:{A}:repository/*"
    for registry_wide in ("GetAuthorizationToken", "DescribeRegistry", "PutRegistryPolicy"):
        assert ecr_targets(registry_wide, {}, A, REGION) == [
            Target(f"ecr:{registry_wide}", "*", A, region=REGION)
        ]


def _doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _decide(
    principal: Principal,
    resource: list[tuple[str, str]],
    identity: list[tuple[str, str]] | None = None,
) -> Decision:
    target = repository_target("ecr:BatchGetImage", KEY)
    inputs = _Inputs(tuple(identity or ()), tuple(resource))
    return evaluate_inputs(principal, target, NO_FACTS, inputs, NOW)


ROOT_A = Principal(A, "root", PrincipalKind.ROOT)
USER_B = Principal(B, "ci", PrincipalKind.USER)
PULL = _doc({"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"})


def test_root_in_its_account_unless_denied() -> None:
    assert _decide(ROOT_A, []).allowed
    deny = _doc({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"})
    decision = _decide(ROOT_A, [("repository policy", deny)])
    assert not decision.allowed and decision.reason is Reason.EXPLICIT_DENY_RESOURCE
    assert denial_message(ROOT_A.arn, repository_target("ecr:BatchGetImage", KEY), decision) == (
        f"User: arn:aws:iam::{A}:root is not authorized to perform: ecr:BatchGetImage "
        f"on resource: {ARN} with an explicit deny in a resource-based policy"
    )


def test_cross_account_needs_both_and_either_resource_policy_suffices() -> None:
    grant = _doc({"Effect": "Allow", "Principal": {"AWS": B}, "Action": "ecr:BatchGetImage"})
    no_identity = _decide(USER_B, [("repository policy", grant)])
    assert no_identity.reason is Reason.NO_IDENTITY_ALLOW
    no_resource = _decide(USER_B, [], identity=[("ci", PULL)])
    assert no_resource.reason is Reason.NO_RESOURCE_ALLOW
    # The registry policy (V2) grants, the repository policy says nothing about B.
    unrelated = _doc({"Effect": "Allow", "Principal": {"AWS": "333333333333"}, "Action": "*"})
    decision = _decide(
        USER_B, [("repository policy", unrelated), ("registry policy", grant)], [("ci", PULL)]
    )
    assert decision.allowed
    # A Deny in either wins.
    deny = _doc({"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"})
    decision = _decide(
        USER_B, [("repository policy", grant), ("registry policy", deny)], [("ci", PULL)]
    )
    assert decision.reason is Reason.EXPLICIT_DENY_RESOURCE
