"""IAM entities through ``registry.iam``: accounts, users, keys, groups, roles, policies,
with IAM's errors (EntityAlreadyExists, NoSuchEntity, DeleteConflict, LimitExceeded,
MalformedPolicyDocument, raised as PolicyInvalid)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from dockyard.domain.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidRequest,
    LimitExceeded,
    NoSuchEntity,
    PolicyInvalid,
)
from dockyard.domain.identity import Caller, KeyStatus
from dockyard.services import Registry
from tests.iam.conftest import DEFAULT_ACCOUNT, root_of

run = asyncio.run

PULL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": "*",
            }
        ],
    }
)
PUSH = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "ecr:PutImage",
            "Resource": "arn:aws:ecr:*:*:repository/app-*",
        },
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


def test_accounts_have_twelve_digit_ids_and_their_own_root_key(local: Registry) -> None:
    made, key = run(local.iam.create_account("123456789012"))
    assert made.account_id == "123456789012"
    assert made.root_arn == "arn:aws:iam::123456789012:root"
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key.access_key_id)
    owner = local.identity.key_owner(key.access_key_id)
    assert owner is not None and owner.arn == "arn:aws:iam::123456789012:root"
    chosen, _ = run(local.iam.create_account())
    assert re.fullmatch(r"[0-9]{12}", chosen.account_id)
    listed = [a.account_id for a in run(local.iam.list_accounts())]
    assert {DEFAULT_ACCOUNT, "123456789012", chosen.account_id} <= set(listed)
    with pytest.raises(InvalidRequest):
        run(local.iam.create_account("123456789012"))
    with pytest.raises(InvalidRequest):
        run(local.iam.create_account("12345"))


def test_users_live_in_their_own_account(local: Registry, root: Caller) -> None:
    other = root_of(run(local.iam.create_account("111122223333"))[0].account_id)
    alice = run(local.iam.create_user(root, "alice", "/ci/"))
    assert alice.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/ci/alice"
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", alice.user_id)
    assert alice.principal.user_id == alice.user_id
    # The same name in another account is another user.
    there = run(local.iam.create_user(other, "alice"))
    assert there.arn == "arn:aws:iam::111122223333:user/alice"
    assert there.user_id != alice.user_id
    with pytest.raises(EntityAlreadyExists, match="User with name alice already exists"):
        run(local.iam.create_user(root, "alice"))
    with pytest.raises(NoSuchEntity, match="The user with name bob cannot be found"):
        run(local.iam.get_user(root, "bob"))
    run(local.iam.create_user(root, "bob"))
    assert [u.name for u in run(local.iam.list_users(root))] == ["alice", "bob"]
    assert [u.name for u in run(local.iam.list_users(root, "/ci/"))] == ["alice"]
    assert [u.name for u in run(local.iam.list_users(other))] == ["alice"]
    with pytest.raises(InvalidRequest):
        run(local.iam.create_user(root, "no spaces"))
    # GetUser without a name is the calling user.
    assert run(local.iam.get_user(Caller(alice.principal, "AKIAX"))).arn == alice.arn


def test_delete_user_is_refused_while_anything_remains(local: Registry, root: Caller) -> None:
    iam = local.iam
    run(iam.create_user(root, "carol"))
    key = run(iam.create_access_key(root, "carol"))
    with pytest.raises(DeleteConflict, match="must delete access keys first"):
        run(iam.delete_user(root, "carol"))
    run(iam.delete_access_key(root, key.key.access_key_id, "carol"))
    run(iam.put_user_policy(root, "carol", "pull", PULL))
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        run(iam.delete_user(root, "carol"))
    run(iam.delete_user_policy(root, "carol", "pull"))
    run(iam.attach_user_policy(root, "carol", READ_ONLY))
    with pytest.raises(DeleteConflict, match="must detach all policies first"):
        run(iam.delete_user(root, "carol"))
    run(iam.detach_user_policy(root, "carol", READ_ONLY))
    run(iam.create_group(root, "devs"))
    run(iam.add_user_to_group(root, "devs", "carol"))
    with pytest.raises(DeleteConflict):
        run(iam.delete_user(root, "carol"))
    run(iam.remove_user_from_group(root, "devs", "carol"))
    run(iam.delete_user(root, "carol"))
    with pytest.raises(NoSuchEntity):
        run(iam.delete_user(root, "carol"))


def test_access_keys_two_per_user(local: Registry, root: Caller) -> None:
    iam = local.iam
    run(iam.create_user(root, "dave"))
    run(iam.create_user(root, "erin"))
    first = run(iam.create_access_key(root, "dave"))
    second = run(iam.create_access_key(root, "dave"))
    assert first.key.principal.name == "dave" and first.secret_access_key
    with pytest.raises(LimitExceeded, match="AccessKeysPerUser: 2"):
        run(iam.create_access_key(root, "dave"))
    listed = run(iam.list_access_keys(root, "dave"))
    assert {k.access_key_id for k in listed} == {first.key.access_key_id, second.key.access_key_id}
    run(iam.update_access_key(root, first.key.access_key_id, KeyStatus.INACTIVE, "dave"))
    statuses = {k.access_key_id: k.status for k in run(iam.list_access_keys(root, "dave"))}
    assert statuses[first.key.access_key_id] is KeyStatus.INACTIVE
    # A key is managed through its own user only.
    with pytest.raises(NoSuchEntity, match="The Access Key with id"):
        run(iam.delete_access_key(root, first.key.access_key_id, "erin"))
    run(iam.delete_access_key(root, first.key.access_key_id, "dave"))
    assert len(run(iam.list_access_keys(root, "dave"))) == 1
    # Without a user name: the caller's own keys (the root's bootstrap key here).
    assert len(run(iam.list_access_keys(root))) == 1


def test_groups(local: Registry, root: Caller) -> None:
    iam = local.iam
    group = run(iam.create_group(root, "pullers", "/team/"))
    assert group.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:group/team/pullers"
    assert re.fullmatch(r"AGPA[A-Z0-9]{17}", group.group_id)
    with pytest.raises(EntityAlreadyExists, match="Group with name pullers already exists"):
        run(iam.create_group(root, "pullers"))
    run(iam.create_user(root, "frank"))
    run(iam.add_user_to_group(root, "pullers", "frank"))
    run(iam.add_user_to_group(root, "pullers", "frank"))  # twice is no error, as in IAM
    with pytest.raises(NoSuchEntity, match="The user with name ghost"):
        run(iam.add_user_to_group(root, "pullers", "ghost"))
    with pytest.raises(NoSuchEntity, match="The group with name nope"):
        run(iam.add_user_to_group(root, "nope", "frank"))
    assert [g.name for g in run(iam.list_groups_for_user(root, "frank"))] == ["pullers"]
    _, members = run(iam.get_group(root, "pullers"))
    assert [m.name for m in members] == ["frank"]
    with pytest.raises(DeleteConflict, match="must remove users from group first"):
        run(iam.delete_group(root, "pullers"))
    run(iam.remove_user_from_group(root, "pullers", "frank"))
    run(iam.put_group_policy(root, "pullers", "pull", PULL))
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        run(iam.delete_group(root, "pullers"))
    run(iam.delete_group_policy(root, "pullers", "pull"))
    run(iam.delete_group(root, "pullers"))
    assert run(iam.list_groups(root)) == []


def _trust(*principals: object, effect: str = "Allow", **extra: object) -> str:
    statement: dict[str, object] = {
        "Effect": effect,
        "Principal": {"AWS": list(principals)},
        "Action": "sts:AssumeRole",
        **extra,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_roles(local: Registry, root: Caller) -> None:
    iam = local.iam
    role = run(iam.create_role(root, "ci", _trust(DEFAULT_ACCOUNT), "/deploy/", "CI pushes", 7200))
    assert role.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/deploy/ci"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role.role_id)
    assert run(iam.get_role(root, "ci")) == role
    assert [r.name for r in run(iam.list_roles(root))] == ["ci"]
    with pytest.raises(EntityAlreadyExists, match="Role with name ci already exists"):
        run(iam.create_role(root, "ci", _trust(DEFAULT_ACCOUNT)))
    with pytest.raises(PolicyInvalid):
        run(iam.create_role(root, "bad", '{"Version": "2012-10-17"'))
    with pytest.raises(PolicyInvalid):  # a trust policy names who may assume it
        run(iam.create_role(root, "bad", PULL))
    with pytest.raises(InvalidRequest):
        run(iam.create_role(root, "long", _trust(DEFAULT_ACCOUNT), max_session_duration=60))
    run(iam.put_role_policy(root, "ci", "push", PUSH))
    assert run(iam.list_role_policies(root, "ci")) == ["push"]
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        run(iam.delete_role(root, "ci"))
    run(iam.delete_role_policy(root, "ci", "push"))
    run(iam.delete_role(root, "ci"))
    with pytest.raises(NoSuchEntity, match="The role with name ci cannot be found"):
        run(iam.get_role(root, "ci"))


def test_inline_policies(local: Registry, root: Caller) -> None:
    iam = local.iam
    run(iam.create_user(root, "gina"))
    run(iam.put_user_policy(root, "gina", "pull", PULL))
    run(iam.put_user_policy(root, "gina", "pull", PUSH))  # a put replaces
    run(iam.put_user_policy(root, "gina", "another", PULL))
    assert run(iam.list_user_policies(root, "gina")) == ["another", "pull"]
    got = run(iam.get_user_policy(root, "gina", "pull"))
    assert (got.owner_name, got.name, got.document) == ("gina", "pull", PUSH)
    with pytest.raises(NoSuchEntity, match="The user policy with name nope cannot be found"):
        run(iam.get_user_policy(root, "gina", "nope"))
    with pytest.raises(NoSuchEntity):
        run(iam.put_user_policy(root, "ghost", "pull", PULL))
    for malformed in ("{", "[]", '{"Version": "2012-10-17", "Statement": []}', "{}"):
        with pytest.raises(PolicyInvalid):
            run(iam.put_user_policy(root, "gina", "bad", malformed))
    # An identity policy names no principal, and names what it acts on.
    with pytest.raises(PolicyInvalid):
        run(iam.put_user_policy(root, "gina", "bad", _trust(DEFAULT_ACCOUNT)))
    no_resource = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecr:*"}}
    with pytest.raises(PolicyInvalid):
        run(iam.put_user_policy(root, "gina", "bad", json.dumps(no_resource)))
    run(iam.delete_user_policy(root, "gina", "pull"))
    with pytest.raises(NoSuchEntity):
        run(iam.delete_user_policy(root, "gina", "pull"))


def test_managed_policies_and_attachments(local: Registry, root: Caller) -> None:
    iam = local.iam
    policy = run(iam.create_policy(root, "push-app", PUSH, "/ci/", "push to app-*"))
    assert policy.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:policy/ci/push-app"
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", policy.policy_id)
    assert policy.default_version == "v1"
    with pytest.raises(EntityAlreadyExists, match="A policy called push-app already exists"):
        run(iam.create_policy(root, "push-app", PUSH))
    run(iam.create_user(root, "hank"))
    run(iam.create_group(root, "ci"))
    run(iam.create_role(root, "deployer", _trust(DEFAULT_ACCOUNT)))
    run(iam.attach_user_policy(root, "hank", policy.arn))
    run(iam.attach_group_policy(root, "ci", policy.arn))
    run(iam.attach_role_policy(root, "deployer", READ_ONLY))
    run(iam.attach_role_policy(root, "deployer", READ_ONLY))  # twice is no error
    assert [p.arn for p in run(iam.list_attached_user_policies(root, "hank"))] == [policy.arn]
    assert [p.name for p in run(iam.list_attached_group_policies(root, "ci"))] == ["push-app"]
    assert [p.arn for p in run(iam.list_attached_role_policies(root, "deployer"))] == [READ_ONLY]
    assert run(iam.get_policy(root, policy.arn)).attachment_count == 2
    aws = run(iam.get_policy(root, READ_ONLY))
    assert aws.account_id == "aws" and "ecr:BatchGetImage" in aws.document
    with pytest.raises(NoSuchEntity, match="does not exist or is not attachable"):
        run(iam.attach_user_policy(root, "hank", "arn:aws:iam::aws:policy/NoSuchPolicy"))
    with pytest.raises(NoSuchEntity):  # another account's customer-managed policy
        run(iam.attach_user_policy(root, "hank", "arn:aws:iam::999999999999:policy/push-app"))
    local_names = [p.name for p in run(iam.list_policies(root, "Local"))]
    assert local_names == ["push-app"]
    aws_names = {p.name for p in run(iam.list_policies(root, "AWS"))}
    assert {"AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPowerUser"} <= (
        aws_names
    )
    attached = {p.arn for p in run(iam.list_policies(root, only_attached=True))}
    assert attached == {policy.arn, READ_ONLY}
    with pytest.raises(DeleteConflict, match="Cannot delete a policy attached to entities"):
        run(iam.delete_policy(root, policy.arn))
    run(iam.detach_user_policy(root, "hank", policy.arn))
    run(iam.detach_group_policy(root, "ci", policy.arn))
    with pytest.raises(NoSuchEntity):
        run(iam.detach_group_policy(root, "ci", policy.arn))
    run(iam.delete_policy(root, policy.arn))
    with pytest.raises(NoSuchEntity):
        run(iam.get_policy(root, policy.arn))
    with pytest.raises(PolicyInvalid):
        run(iam.create_policy(root, "bad", "not json"))


def test_identity_policies_of_a_user_and_its_groups(local: Registry, root: Caller) -> None:
    iam = local.iam
    ivan = run(iam.create_user(root, "ivan"))
    run(iam.create_user(root, "judy"))
    run(iam.create_group(root, "pullers"))
    run(iam.create_group(root, "pushers"))
    run(iam.add_user_to_group(root, "pullers", "ivan"))
    run(iam.add_user_to_group(root, "pushers", "ivan"))
    managed = run(iam.create_policy(root, "push-app", PUSH))
    run(iam.put_user_policy(root, "ivan", "own", PULL))
    run(iam.attach_user_policy(root, "ivan", READ_ONLY))
    run(iam.put_group_policy(root, "pullers", "group-pull", PULL))
    run(iam.attach_group_policy(root, "pushers", managed.arn))
    run(iam.attach_group_policy(root, "pullers", READ_ONLY))  # the same policy twice: once
    run(iam.put_user_policy(root, "judy", "judys", PUSH))  # someone else's: not ivan's
    found = dict(run(iam.identity_policies(Caller(ivan.principal, "AKIAX"))))
    assert set(found) == {"user/ivan/own", "group/pullers/group-pull", managed.arn, READ_ONLY}
    assert found["user/ivan/own"] == PULL
    assert found[managed.arn] == PUSH
    assert "ecr:DescribeImages" in found[READ_ONLY]  # AWS's published document
    # A principal (as authorization passes it) works as well as a caller.
    assert dict(run(iam.identity_policies(ivan.principal))) == found
    # A root needs none in its own account; a user gone has none.
    assert run(iam.identity_policies(root)) == []
    run(iam.delete_user_policy(root, "judy", "judys"))
    run(iam.delete_user(root, "judy"))
    judy = ivan.principal.__class__(DEFAULT_ACCOUNT, "judy", ivan.principal.kind)
    assert run(iam.identity_policies(judy)) == []
