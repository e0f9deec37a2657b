"""IAM operations, one function each (inline and attached policies once per owner kind).

Every handler hands its input to ``registry.iam`` with the caller first and shapes the
domain answer as botocore's IAM model has it. Policy documents arrive as plain JSON (the
form is already decoded) and leave URL-encoded, as IAM sends them (botocore decodes them).
Lists are paged with IAM's ``Marker``/``MaxItems`` over a stable order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from dockyard.api.aws.model import load_model
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.service import Call
from dockyard.domain.errors import InvalidRequest, NoSuchEntity
from dockyard.domain.identity import (
    AccessKey,
    Group,
    KeyStatus,
    ManagedPolicy,
    Role,
    User,
)

T = TypeVar("T")

#: IAM's operations (``name -> handler``), checked against botocore's IAM model.
OPERATIONS: OperationRegistry[Call] = OperationRegistry(load_model("iam"))
DEFAULT_PAGE = 100  # IAM's default MaxItems


def _arn(kind: str, name_member: str) -> Callable[[Call, dict[str, Any]], str]:
    """The ARN of the user, group or role a request names (the caller's account; a user
    call without a name means the caller itself)."""

    def arn(call: Call, body: dict[str, Any]) -> str:
        name = body.get(name_member)
        if name is None and kind == "user":
            return call.caller.arn
        return f"arn:aws:iam::{call.caller.account_id}:{kind}/{name}"

    return arn


def _policy_arn(call: Call, body: dict[str, Any]) -> str:
    return str(body["PolicyArn"])


def _new_policy_arn(call: Call, body: dict[str, Any]) -> str:
    path = body.get("Path") or "/"
    return f"arn:aws:iam::{call.caller.account_id}:policy{path}{body['PolicyName']}"


def encoded(document: str) -> str:
    """A policy document as IAM returns it: URL-encoded (RFC 3986)."""
    return quote(document, safe="-_.~")


# --------------------------------------------------------------------------- shapes


def user_shape(user: User) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }


def group_shape(group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


def role_shape(role: Role) -> dict[str, Any]:
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": encoded(role.trust_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }


def policy_shape(policy: ManagedPolicy) -> dict[str, Any]:
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "Description": policy.description,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
    }


def key_metadata(key: AccessKey) -> dict[str, Any]:
    return {
        "UserName": key.principal.name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status.value,
        "CreateDate": key.created_at,
    }


def page(
    items: Sequence[T], body: dict[str, Any], key: Callable[[T], str]
) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` (ordered by ``key``) from ``Marker``/``MaxItems``, and the
    ``IsTruncated``/``Marker`` members that go with it."""
    ordered = sorted(items, key=key)
    size = int(body.get("MaxItems") or DEFAULT_PAGE)
    start = 0
    marker = body.get("Marker")
    if marker is not None:
        after = _read_marker(str(marker))
        start = next((i for i, item in enumerate(ordered) if key(item) > after), len(ordered))
    chosen = ordered[start : start + size]
    truncated = start + size < len(ordered)
    extra: dict[str, Any] = {"IsTruncated": truncated}
    if truncated and chosen:
        extra["Marker"] = base64.urlsafe_b64encode(key(chosen[-1]).encode()).decode()
    return chosen, extra


def _read_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            "1 validation error detected: Value at 'marker' failed to satisfy constraint: "
            "Invalid marker"
        ) from None


# --------------------------------------------------------------------------- users and keys


@OPERATIONS.operation("CreateUser", resource=_arn("user", "UserName"))
async def create_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user = await call.registry.iam.create_user(
        call.caller, body["UserName"], body.get("Path") or "/"
    )
    return {"User": user_shape(user)}


@OPERATIONS.operation("GetUser", resource=_arn("user", "UserName"))
async def get_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return {"User": user_shape(await call.registry.iam.get_user(call.caller, body.get("UserName")))}


@OPERATIONS.operation("ListUsers")
async def list_users(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    users = await call.registry.iam.list_users(call.caller, body.get("PathPrefix") or "/")
    chosen, extra = page(users, body, lambda u: u.name)
    return {"Users": [user_shape(u) for u in chosen], **extra}


@OPERATIONS.operation("DeleteUser", resource=_arn("user", "UserName"))
async def delete_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.delete_user(call.caller, body["UserName"])
    return {}


@OPERATIONS.operation("CreateAccessKey", resource=_arn("user", "UserName"))
async def create_access_key(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    made = await call.registry.iam.create_access_key(call.caller, body.get("UserName"))
    return {"AccessKey": {**key_metadata(made.key), "SecretAccessKey": made.secret_access_key}}


@OPERATIONS.operation("ListAccessKeys", resource=_arn("user", "UserName"))
async def list_access_keys(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    keys = await call.registry.iam.list_access_keys(call.caller, body.get("UserName"))
    chosen, extra = page(keys, body, lambda k: k.access_key_id)
    return {"AccessKeyMetadata": [key_metadata(k) for k in chosen], **extra}


@OPERATIONS.operation("UpdateAccessKey", resource=_arn("user", "UserName"))
async def update_access_key(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.update_access_key(
        call.caller, body["AccessKeyId"], KeyStatus(body["Status"]), body.get("UserName")
    )
    return {}


@OPERATIONS.operation("DeleteAccessKey", resource=_arn("user", "UserName"))
async def delete_access_key(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.delete_access_key(
        call.caller, body["AccessKeyId"], body.get("UserName")
    )
    return {}


# --------------------------------------------------------------------------- groups


@OPERATIONS.operation("CreateGroup", resource=_arn("group", "GroupName"))
async def create_group(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    group = await call.registry.iam.create_group(
        call.caller, body["GroupName"], body.get("Path") or "/"
    )
    return {"Group": group_shape(group)}


@OPERATIONS.operation("GetGroup", resource=_arn("group", "GroupName"))
async def get_group(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    group, users = await call.registry.iam.get_group(call.caller, body["GroupName"])
    chosen, extra = page(users, body, lambda u: u.name)
    return {"Group": group_shape(group), "Users": [user_shape(u) for u in chosen], **extra}


@OPERATIONS.operation("ListGroups")
async def list_groups(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    groups = await call.registry.iam.list_groups(call.caller, body.get("PathPrefix") or "/")
    chosen, extra = page(groups, body, lambda g: g.name)
    return {"Groups": [group_shape(g) for g in chosen], **extra}


@OPERATIONS.operation("DeleteGroup", resource=_arn("group", "GroupName"))
async def delete_group(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.delete_group(call.caller, body["GroupName"])
    return {}


@OPERATIONS.operation("AddUserToGroup", resource=_arn("group", "GroupName"))
async def add_user_to_group(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.add_user_to_group(call.caller, body["GroupName"], body["UserName"])
    return {}


@OPERATIONS.operation("RemoveUserFromGroup", resource=_arn("group", "GroupName"))
async def remove_user_from_group(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.remove_user_from_group(call.caller, body["GroupName"], body["UserName"])
    return {}


@OPERATIONS.operation("ListGroupsForUser", resource=_arn("user", "UserName"))
async def list_groups_for_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    groups = await call.registry.iam.list_groups_for_user(call.caller, body["UserName"])
    chosen, extra = page(groups, body, lambda g: g.name)
    return {"Groups": [group_shape(g) for g in chosen], **extra}


# --------------------------------------------------------------------------- roles


@OPERATIONS.operation("CreateRole", resource=_arn("role", "RoleName"))
async def create_role(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    role = await call.registry.iam.create_role(
        call.caller,
        body["RoleName"],
        body["AssumeRolePolicyDocument"],
        path=body.get("Path") or "/",
        description=body.get("Description"),
        max_session_duration=int(body.get("MaxSessionDuration") or 3600),
    )
    return {"Role": role_shape(role)}


@OPERATIONS.operation("GetRole", resource=_arn("role", "RoleName"))
async def get_role(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return {"Role": role_shape(await call.registry.iam.get_role(call.caller, body["RoleName"]))}


@OPERATIONS.operation("ListRoles")
async def list_roles(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    roles = await call.registry.iam.list_roles(call.caller, body.get("PathPrefix") or "/")
    chosen, extra = page(roles, body, lambda r: r.name)
    return {"Roles": [role_shape(r) for r in chosen], **extra}


@OPERATIONS.operation("DeleteRole", resource=_arn("role", "RoleName"))
async def delete_role(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.delete_role(call.caller, body["RoleName"])
    return {}


# --------------------------------------------------------------------------- managed policies


@OPERATIONS.operation("CreatePolicy", resource=_new_policy_arn)
async def create_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    policy = await call.registry.iam.create_policy(
        call.caller,
        body["PolicyName"],
        body["PolicyDocument"],
        path=body.get("Path") or "/",
        description=body.get("Description"),
    )
    return {"Policy": policy_shape(policy)}


@OPERATIONS.operation("GetPolicy", resource=_policy_arn)
async def get_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    policy = await call.registry.iam.get_policy(call.caller, body["PolicyArn"])
    return {"Policy": policy_shape(policy)}


@OPERATIONS.operation("GetPolicyVersion", resource=_policy_arn)
async def get_policy_version(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    # Dockyard keeps one version of a policy, its default.
    policy = await call.registry.iam.get_policy(call.caller, body["PolicyArn"])
    if body["VersionId"] != policy.default_version:
        raise NoSuchEntity("policy version", f"{policy.arn} version {body['VersionId']}")
    return {
        "PolicyVersion": {
            "Document": encoded(policy.document),
            "VersionId": policy.default_version,
            "IsDefaultVersion": True,
            "CreateDate": policy.updated_at,
        }
    }


@OPERATIONS.operation("DeletePolicy", resource=_policy_arn)
async def delete_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.iam.delete_policy(call.caller, body["PolicyArn"])
    return {}


@OPERATIONS.operation("ListPolicies")
async def list_policies(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    policies = await call.registry.iam.list_policies(
        call.caller,
        scope=body.get("Scope") or "All",
        only_attached=bool(body.get("OnlyAttached")),
        path_prefix=body.get("PathPrefix") or "/",
    )
    chosen, extra = page(policies, body, lambda p: p.arn)
    return {"Policies": [policy_shape(p) for p in chosen], **extra}


# --------------------------------------------------------------------------- per owner kind


def _owner_operations(kind: str) -> None:
    """Inline policies and attachments of users, groups or roles (``kind``: "User"...)."""
    member = f"{kind}Name"
    snake = kind.lower()
    resource = _arn(snake, member)

    @OPERATIONS.operation(f"Put{kind}Policy", resource=resource)
    async def put_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        put = getattr(call.registry.iam, f"put_{snake}_policy")
        await put(call.caller, body[member], body["PolicyName"], body["PolicyDocument"])
        return {}

    @OPERATIONS.operation(f"Get{kind}Policy", resource=resource)
    async def get_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        get = getattr(call.registry.iam, f"get_{snake}_policy")
        found = await get(call.caller, body[member], body["PolicyName"])
        return {
            member: found.owner_name,
            "PolicyName": found.name,
            "PolicyDocument": encoded(found.document),
        }

    @OPERATIONS.operation(f"Delete{kind}Policy", resource=resource)
    async def delete_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        delete = getattr(call.registry.iam, f"delete_{snake}_policy")
        await delete(call.caller, body[member], body["PolicyName"])
        return {}

    @OPERATIONS.operation(f"List{kind}Policies", resource=resource)
    async def list_policies(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        names = await getattr(call.registry.iam, f"list_{snake}_policies")(
            call.caller, body[member]
        )
        chosen, extra = page(list(names), body, str)
        return {"PolicyNames": chosen, **extra}

    @OPERATIONS.operation(f"Attach{kind}Policy", resource=resource)
    async def attach(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        attach = getattr(call.registry.iam, f"attach_{snake}_policy")
        await attach(call.caller, body[member], body["PolicyArn"])
        return {}

    @OPERATIONS.operation(f"Detach{kind}Policy", resource=resource)
    async def detach(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        detach = getattr(call.registry.iam, f"detach_{snake}_policy")
        await detach(call.caller, body[member], body["PolicyArn"])
        return {}

    @OPERATIONS.operation(f"ListAttached{kind}Policies", resource=resource)
    async def list_attached(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        found = await getattr(call.registry.iam, f"list_attached_{snake}_policies")(
            call.caller, body[member]
        )
        chosen, extra = page(list(found), body, lambda a: a.arn)
        return {
            "AttachedPolicies": [{"PolicyName": a.name, "PolicyArn": a.arn} for a in chosen],
            **extra,
        }


for _kind in ("User", "Group", "Role"):
    _owner_operations(_kind)

# SimulatePrincipalPolicy lives beside authorization's other tools; imported for its
# registration, after OPERATIONS exists.
from dockyard.api.iam import simulate as _simulate  # noqa: E402, F401
