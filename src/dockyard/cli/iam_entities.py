"""``dockyard iam``: groups, roles, policies and sessions, beside users and keys (cli/iam.py).

Each command is the IAM operation of the same name done as the account's root. Policy
documents are given as JSON text or, as with the aws CLI, ``file://PATH``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dockyard.cli.iam import Account, Path_, _open, as_root, iam, run
from dockyard.cli.options import ConfigFile, DataDir
from dockyard.domain.identity import AttachedPolicy, Caller, OwnerKind, Principal, PrincipalKind
from dockyard.services.iam import Iam

Document = Annotated[
    str, typer.Option("--document", help="Policy JSON, or file://PATH to read it from a file.")
]
UserOpt = Annotated[str | None, typer.Option("--user", help="The user it belongs to.")]
GroupOpt = Annotated[str | None, typer.Option("--group", help="The group it belongs to.")]
RoleOpt = Annotated[str | None, typer.Option("--role", help="The role it belongs to.")]


def _document(value: str) -> str:
    if value.startswith("file://"):
        try:
            return Path(value.removeprefix("file://")).read_text()
        except OSError as exc:
            typer.echo(f"dockyard iam: cannot read {value}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
    return value


def _owner(user: str | None, group: str | None, role: str | None) -> tuple[OwnerKind, str]:
    given = [(k, n) for k, n in ((OwnerKind.USER, user), (OwnerKind.GROUP, group)) if n]
    if role:
        given.append((OwnerKind.ROLE, role))
    if len(given) != 1:
        typer.echo("dockyard iam: name exactly one of --user, --group, --role", err=True)
        raise typer.Exit(2)
    return given[0]


# Users and keys, beyond cli/iam.py ----------------------------------------------------


@iam.command("get-user")
def get_user(
    name: str, account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Show a user: ARN, id, path, creation, groups."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    user = run(registry.iam.get_user(caller, name))
    groups = run(registry.iam.list_groups_for_user(caller, name))
    typer.echo(f"{user.arn}\t{user.user_id}\t{user.path}\t{user.created_at.isoformat()}")
    for group in groups:
        typer.echo(f"  group: {group.name}")


@iam.command("list-access-keys")
def list_access_keys(
    user: UserOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List a user's access keys (the root's without --user)."""
    registry, default = _open(data_dir, config)
    keys = run(registry.iam.list_access_keys(as_root(account_id or default), user))
    table = Table("access key", "status", "created")
    for key in keys:
        table.add_row(key.access_key_id, key.status.value, key.created_at.isoformat())
    Console().print(table)


# Groups ---------------------------------------------------------------------------------


@iam.command("create-group")
def create_group(
    name: str,
    path: Path_ = "/",
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a group."""
    registry, default = _open(data_dir, config)
    typer.echo(run(registry.iam.create_group(as_root(account_id or default), name, path)).arn)


@iam.command("delete-group")
def delete_group(
    name: str, account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Delete a group (refused while it has members or policies)."""
    registry, default = _open(data_dir, config)
    run(registry.iam.delete_group(as_root(account_id or default), name))


@iam.command("add-user-to-group")
def add_user_to_group(
    group: Annotated[str, typer.Option("--group")],
    user: Annotated[str, typer.Option("--user")],
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Make a user a member of a group."""
    registry, default = _open(data_dir, config)
    run(registry.iam.add_user_to_group(as_root(account_id or default), group, user))


@iam.command("remove-user-from-group")
def remove_user_from_group(
    group: Annotated[str, typer.Option("--group")],
    user: Annotated[str, typer.Option("--user")],
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Take a user out of a group."""
    registry, default = _open(data_dir, config)
    run(registry.iam.remove_user_from_group(as_root(account_id or default), group, user))


@iam.command("list-groups")
def list_groups(
    user: UserOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List an account's groups and their members (with --user: that user's groups)."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    if user is not None:
        groups = run(registry.iam.list_groups_for_user(caller, user))
    else:
        groups = run(registry.iam.list_groups(caller))
    table = Table("group", "id", "members")
    for group in groups:
        _, members = run(registry.iam.get_group(caller, group.name))
        table.add_row(group.arn, group.group_id, ", ".join(m.name for m in members) or "-")
    Console().print(table)


# Roles -----------------------------------------------------------------------------------


@iam.command("create-role")
def create_role(
    name: str,
    trust_policy: Annotated[
        str,
        typer.Option(
            "--trust-policy",
            "--assume-role-policy-document",
            help="Who may assume it: JSON, or file://PATH.",
        ),
    ],
    description: Annotated[str | None, typer.Option("--description")] = None,
    max_session_duration: Annotated[
        int, typer.Option("--max-session-duration", help="Seconds, 3600 to 43200.")
    ] = 3600,
    path: Path_ = "/",
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a role with its trust policy."""
    registry, default = _open(data_dir, config)
    role = run(
        registry.iam.create_role(
            as_root(account_id or default),
            name,
            _document(trust_policy),
            path,
            description,
            max_session_duration,
        )
    )
    typer.echo(role.arn)


@iam.command("get-role")
def get_role(
    name: str, account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Show a role: ARN, id, session limit, and its trust policy."""
    registry, default = _open(data_dir, config)
    role = run(registry.iam.get_role(as_root(account_id or default), name))
    typer.echo(f"{role.arn}\t{role.role_id}\t{role.max_session_duration}s")
    typer.echo(role.trust_policy)


@iam.command("delete-role")
def delete_role(
    name: str, account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Delete a role (refused while it has policies); its sessions end with it."""
    registry, default = _open(data_dir, config)
    run(registry.iam.delete_role(as_root(account_id or default), name))


@iam.command("list-roles")
def list_roles(
    account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """List an account's roles."""
    registry, default = _open(data_dir, config)
    table = Table("role", "id", "max session", "description")
    for role in run(registry.iam.list_roles(as_root(account_id or default))):
        table.add_row(
            role.arn, role.role_id, f"{role.max_session_duration}s", role.description or "-"
        )
    Console().print(table)


@iam.command("assume-role")
def assume_role(
    role_arn: str,
    session_name: Annotated[str, typer.Option("--session-name")],
    duration: Annotated[
        int, typer.Option("--duration-seconds", help="900 up to the role's maximum.")
    ] = 3600,
    user: Annotated[
        str | None, typer.Option("--as-user", help="Assume it as this user (default: the root).")
    ] = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Temporary credentials for a role, as the account's root or one of its users would
    get them from STS (the role's trust policy must allow it); shown this once."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    if user is not None:
        caller = Caller(run(registry.iam.get_user(caller, user)).principal, "dockyard-cli")
    assumed = run(registry.iam.assume_role(caller, role_arn, session_name, duration))
    typer.echo(f"AWS_ACCESS_KEY_ID={assumed.credentials.access_key_id}")
    typer.echo(f"AWS_SECRET_ACCESS_KEY={assumed.credentials.secret_access_key}")
    typer.echo(f"AWS_SESSION_TOKEN={assumed.credentials.session_token}")
    typer.echo(f"# {assumed.arn} until {assumed.credentials.expiration.isoformat()}", err=True)


# Policies -------------------------------------------------------------------------------


@iam.command("put-policy")
def put_policy(
    policy_name: str,
    document: Document,
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Put an inline policy on a user, group or role (replacing one of that name)."""
    registry, default = _open(data_dir, config)
    kind, owner = _owner(user, group, role)
    caller, text, iam_ = as_root(account_id or default), _document(document), registry.iam
    run(iam_.put_inline_policy(caller, kind, owner, policy_name, text))


@iam.command("get-policy")
def get_policy(
    policy: Annotated[str, typer.Argument(help="A policy ARN, or an inline policy's name.")],
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Print a policy's document: a managed policy by ARN, or an inline one by name and owner."""
    registry, default = _open(data_dir, config)
    caller, iam_ = as_root(account_id or default), registry.iam
    if policy.startswith("arn:"):
        typer.echo(run(iam_.get_policy(caller, policy)).document)
        return
    kind, owner = _owner(user, group, role)
    typer.echo(run(iam_.get_inline_policy(caller, kind, owner, policy)).document)


@iam.command("delete-policy")
def delete_policy(
    policy: Annotated[str, typer.Argument(help="A policy ARN, or an inline policy's name.")],
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Delete a customer-managed policy (by ARN) or an inline policy (by name and owner)."""
    registry, default = _open(data_dir, config)
    caller, iam_ = as_root(account_id or default), registry.iam
    if policy.startswith("arn:"):
        run(iam_.delete_policy(caller, policy))
        return
    kind, owner = _owner(user, group, role)
    run(iam_.delete_inline_policy(caller, kind, owner, policy))


@iam.command("create-policy")
def create_policy(
    name: str,
    document: Document,
    description: Annotated[str | None, typer.Option("--description")] = None,
    path: Path_ = "/",
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a customer-managed policy; prints its ARN, to attach."""
    registry, default = _open(data_dir, config)
    made = run(
        registry.iam.create_policy(
            as_root(account_id or default), name, _document(document), path, description
        )
    )
    typer.echo(made.arn)


@iam.command("attach-policy")
def attach_policy(
    policy_arn: str,
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Attach a managed policy (the account's, or AWS's arn:aws:iam::aws:policy/...)."""
    registry, default = _open(data_dir, config)
    kind, owner = _owner(user, group, role)
    caller, iam_ = as_root(account_id or default), registry.iam
    run(iam_.attach_policy(caller, kind, owner, policy_arn))


@iam.command("detach-policy")
def detach_policy(
    policy_arn: str,
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Detach a managed policy."""
    registry, default = _open(data_dir, config)
    kind, owner = _owner(user, group, role)
    caller, iam_ = as_root(account_id or default), registry.iam
    run(iam_.detach_policy(caller, kind, owner, policy_arn))


@iam.command("list-policies")
def list_policies(
    user: UserOpt = None,
    group: GroupOpt = None,
    role: RoleOpt = None,
    scope: Annotated[
        str, typer.Option("--scope", help="Managed policies: All, AWS or Local.")
    ] = "All",
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List managed policies, or (with --user, --group or --role) a principal's inline and
    attached policies."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    table = Table("policy", "kind", "attachments")
    if user is None and group is None and role is None:
        for policy in run(registry.iam.list_policies(caller, scope)):
            kind = "aws-managed" if policy.account_id == "aws" else "managed"
            table.add_row(policy.arn, kind, str(policy.attachment_count))
    else:
        kind_, owner = _owner(user, group, role)
        inline, attached = run(_owned(registry.iam, caller, kind_, owner))
        for name in inline:
            table.add_row(name, "inline", "-")
        for attachment in attached:
            table.add_row(attachment.arn, "attached", "-")
    Console().print(table)


async def _owned(
    iam_: Iam, caller: Caller, kind: OwnerKind, owner: str
) -> tuple[list[str], list[AttachedPolicy]]:
    if kind is OwnerKind.USER:
        return (
            await iam_.list_user_policies(caller, owner),
            await iam_.list_attached_user_policies(caller, owner),
        )
    if kind is OwnerKind.GROUP:
        return (
            await iam_.list_group_policies(caller, owner),
            await iam_.list_attached_group_policies(caller, owner),
        )
    return (
        await iam_.list_role_policies(caller, owner),
        await iam_.list_attached_role_policies(caller, owner),
    )


@iam.command("policies-of")
def policies_of(
    user: UserOpt = None,
    role: RoleOpt = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Every identity policy that applies to a user (its own and its groups') or to a
    role's sessions, with the documents: what authorization evaluates."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    if (user is None) == (role is None):
        typer.echo("dockyard iam: name exactly one of --user, --role", err=True)
        raise typer.Exit(2)
    if user is not None:
        principal = run(registry.iam.get_user(caller, user)).principal
    else:
        assert role is not None
        found = run(registry.iam.get_role(caller, role))
        principal = Principal(
            found.account_id, found.name, PrincipalKind.ASSUMED_ROLE, found.path, found.role_id, "-"
        )
    for policy_id, text in run(registry.iam.identity_policies(principal)):
        typer.echo(f"# {policy_id}")
        typer.echo(json.dumps(json.loads(text), indent=2))
