"""One operation registry per service, checked against botocore's model at import."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.aws.model import load_model
from dockyard.api.aws.registry import OperationRegistry, UnknownOperationName
from dockyard.api.ecr.operations import OPERATIONS as ECR_OPERATIONS
from dockyard.api.iam.operations import OPERATIONS as IAM_OPERATIONS
from dockyard.api.secretsmanager.operations import OPERATIONS as SECRETS_OPERATIONS
from dockyard.api.sts.operations import OPERATIONS as STS_OPERATIONS


async def _handler(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {}


def test_an_operation_the_model_lacks_cannot_be_registered() -> None:
    registry = OperationRegistry[Any](load_model("iam"))
    with pytest.raises(UnknownOperationName, match="CreateUsers"):
        registry.operation("CreateUsers")
    with pytest.raises(UnknownOperationName):
        registry.operation("createUser")  # names are case-sensitive, as on the wire


def test_registering_twice_fails() -> None:
    registry = OperationRegistry[Any](load_model("iam"))
    registry.operation("CreateUser")(_handler)
    with pytest.raises(ValueError, match="twice"):
        registry.operation("CreateUser")


def test_registrations_name_their_iam_action() -> None:
    registry = OperationRegistry[Any](load_model("sts"))
    registry.operation("GetCallerIdentity")(_handler)
    registry.operation("AssumeRole", resource=lambda ctx, body: body["RoleArn"])(_handler)
    found = registry.registration("AssumeRole")
    assert found is not None and found.action == "sts:AssumeRole"
    assert found.resource is not None and found.resource(None, {"RoleArn": "r"}) == "r"
    assert registry.registration("GetCallerIdentity").action == "sts:GetCallerIdentity"  # type: ignore[union-attr]
    assert set(registry) == {"GetCallerIdentity", "AssumeRole"}
    assert registry["AssumeRole"] is _handler


def test_every_registered_operation_is_in_its_model() -> None:
    registries: list[OperationRegistry[Any]] = [
        ECR_OPERATIONS,
        IAM_OPERATIONS,
        STS_OPERATIONS,
        SECRETS_OPERATIONS,
    ]
    for registry in registries:
        for registration in registry.registrations():
            assert registry.model.operation(registration.operation.name) is registration.operation
            prefix = registry.model.signing_name
            assert registration.action.startswith(f"{prefix}:")


def _per_owner(*templates: str) -> set[str]:
    return {t.format(kind) for t in templates for kind in ("User", "Group", "Role")}


# Issue 12's IAM and STS operations; the registries must be exactly these.
IAM_SERVED = {
    "CreateUser",
    "GetUser",
    "ListUsers",
    "DeleteUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateGroup",
    "GetGroup",
    "ListGroups",
    "DeleteGroup",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    "CreatePolicy",
    "GetPolicy",
    "GetPolicyVersion",
    "DeletePolicy",
    "ListPolicies",
    "CreateRole",
    "GetRole",
    "DeleteRole",
    "ListRoles",
    "SimulatePrincipalPolicy",
} | _per_owner(
    "Put{}Policy",
    "Get{}Policy",
    "Delete{}Policy",
    "List{}Policies",
    "Attach{}Policy",
    "Detach{}Policy",
    "ListAttached{}Policies",
)


def test_iam_and_sts_serve_the_issue_s_operations() -> None:
    assert set(IAM_OPERATIONS) == IAM_SERVED
    assert set(STS_OPERATIONS) == {"GetCallerIdentity", "AssumeRole"}


def test_iam_operations_on_an_entity_name_its_arn() -> None:
    unnamed = {
        n
        for n in IAM_SERVED
        if n.startswith("List")
        and not n.startswith(
            (
                "ListAccessKeys",
                "ListGroupsForUser",
                "ListUserPolicies",
                "ListGroupPolicies",
                "ListRolePolicies",
                "ListAttached",
            )
        )
    }
    for name in IAM_SERVED - unnamed:
        registration = IAM_OPERATIONS.registration(name)
        assert registration is not None and registration.resource is not None, name


def test_secrets_manager_serves_what_the_pull_through_cache_needs() -> None:
    assert set(SECRETS_OPERATIONS) == {
        "CreateSecret",
        "PutSecretValue",
        "GetSecretValue",
        "DescribeSecret",
        "ListSecrets",
        "DeleteSecret",
        "RestoreSecret",
        "UpdateSecret",
        "UpdateSecretVersionStage",
        "ListSecretVersionIds",
        "TagResource",
        "UntagResource",
        "GetResourcePolicy",
    }
    found = SECRETS_OPERATIONS.registration("GetSecretValue")
    assert found is not None and found.action == "secretsmanager:GetSecretValue"
