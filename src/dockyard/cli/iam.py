"""``dockyard iam``: users and access keys, on a registry's data (server running or not).

Groups, roles and policies are in ``cli/iam_entities.py``; both act as an account's root.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from dockyard.app import open_registry
from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.domain.errors import DockyardError
from dockyard.domain.identity import Caller, KeyStatus, Principal, PrincipalKind
from dockyard.services import Registry
from dockyard.services.authorization import principal_of_arn

iam = typer.Typer(
    help="Manage users, access keys, groups, roles and policies.", no_args_is_help=True
)

Account = Annotated[
    str | None,
    typer.Option("--account", "--account-id", help="Account (default: the registry's default)."),
]
User = Annotated[str | None, typer.Option("--user", help="User name; omit for the account's root.")]
Path_ = Annotated[str, typer.Option("--path", help="IAM path, e.g. /ci/ (default /).")]
T = TypeVar("T")


def _open(data_dir: DataDir, config: ConfigFile) -> tuple[Registry, str]:
    settings = settings_from(config, data_dir=data_dir)
    return open_registry(settings), settings.account_id


def _fail(exc: DockyardError) -> typer.Exit:
    typer.echo(f"dockyard iam: {exc.describe()}", err=True)
    return typer.Exit(1)


def as_root(account_id: str) -> Caller:
    """The operator acts as the account's root: IAM calls name the account they work in."""
    return Caller(Principal(account_id, "root", PrincipalKind.ROOT), "dockyard-cli")


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one IAM call; a refusal (NoSuchEntity, DeleteConflict...) is one line and exit 1."""
    try:
        return asyncio.run(work)
    except DockyardError as exc:
        raise _fail(exc) from None


@iam.command("create-user")
def create_user(
    name: str,
    path: Path_ = "/",
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a user in an account."""
    registry, default = _open(data_dir, config)
    account = account_id or default
    try:
        # An account named here for the first time is made (its root has no key until
        # `dockyard accounts create` or a create-access-key without --user).
        registry.identity.create_user(account, name, path)
    except DockyardError as exc:
        raise _fail(exc) from None
    typer.echo(run(registry.iam.get_user(as_root(account), name)).arn)


@iam.command("delete-user")
def delete_user(
    name: str,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="First delete its access keys and inline policies, detach its policies and "
            "take it out of its groups (IAM refuses to delete a user that has any).",
        ),
    ] = False,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Delete a user (refused, as IAM does, while it has keys, policies or groups)."""
    registry, default = _open(data_dir, config)
    caller = as_root(account_id or default)
    if force:
        run(_strip_user(registry, caller, name))
    run(registry.iam.delete_user(caller, name))


async def _strip_user(registry: Registry, caller: Caller, name: str) -> None:
    iam_ = registry.iam
    for key in await iam_.list_access_keys(caller, name):
        await iam_.delete_access_key(caller, key.access_key_id, name)
    for policy in await iam_.list_user_policies(caller, name):
        await iam_.delete_user_policy(caller, name, policy)
    for attached in await iam_.list_attached_user_policies(caller, name):
        await iam_.detach_user_policy(caller, name, attached.arn)
    for group in await iam_.list_groups_for_user(caller, name):
        await iam_.remove_user_from_group(caller, group.name, name)


@iam.command("list-users")
def list_users(
    account_id: Account = None, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """List an account's principals and their keys."""
    registry, default = _open(data_dir, config)
    table = Table("principal", "access key", "status", "created")
    for principal in registry.identity.principals(account_id or default):
        keys = registry.identity.keys(principal)
        if not keys:
            table.add_row(principal.arn, "-", "-", "-")
        for key in keys:
            table.add_row(
                principal.arn, key.access_key_id, key.status.value, key.created_at.isoformat()
            )
    Console().print(table)


@iam.command("create-access-key")
def create_access_key(
    user: User = None,
    account_id: Account = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create an access key (at most two per user, as in IAM); the secret is shown once."""
    registry, default = _open(data_dir, config)
    made = run(registry.iam.create_access_key(as_root(account_id or default), user))
    typer.echo(f"AWS_ACCESS_KEY_ID={made.key.access_key_id}")
    typer.echo(f"AWS_SECRET_ACCESS_KEY={made.secret_access_key}")


@iam.command("update-access-key")
def update_access_key(
    access_key_id: str,
    status: Annotated[KeyStatus, typer.Option(help="Active or Inactive.")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Enable or disable an access key (and every registry password issued with it)."""
    registry, _ = _open(data_dir, config)
    if not registry.identity.set_key_status(access_key_id, status):
        typer.echo(f"dockyard iam: no access key {access_key_id!r}", err=True)
        raise typer.Exit(1)


@iam.command("delete-access-key")
def delete_access_key(
    access_key_id: str, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Delete an access key (and every registry password issued with it)."""
    registry, _ = _open(data_dir, config)
    if not registry.identity.delete_key(access_key_id):
        typer.echo(f"dockyard iam: no access key {access_key_id!r}", err=True)
        raise typer.Exit(1)


@iam.command("simulate")
def simulate(
    principal: Annotated[str, typer.Option("--principal", help="The caller's ARN.")],
    action: Annotated[str, typer.Option("--action", help="An IAM action, e.g. ecr:PutImage.")],
    resource: Annotated[str, typer.Option("--resource", help="A resource ARN, or *.")],
    account_id: Annotated[
        str | None,
        typer.Option(
            "--account", "--account-id", help="The resource's account (default: from its ARN)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="The registry's region for a resource that names none, such as * "
            "(default: the default region; a repository ARN names its own)."
        ),
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Decide a request as the server would, and show the statements that decided it."""
    registry, _ = _open(data_dir, config)
    who = principal_of_arn(principal)
    if who is None:
        typer.echo(f"dockyard iam: {principal!r} is not a root or user ARN", err=True)
        raise typer.Exit(2)
    decision = asyncio.run(registry.authz.simulate(who, action, resource, account_id, region))
    console = Console()
    verdict = "[green]allowed[/green]" if decision.allowed else "[red]denied[/red]"
    why = "" if decision.allowed else f" {decision.because(action)}"
    console.print(f"{verdict}: {principal} {action} on {resource}{why}")
    table = Table("effect", "policy", "statement")
    for ref in decision.statements:
        table.add_row(
            str(ref.effect), f"{ref.kind}: {ref.policy or '(unnamed)'}", ref.sid or f"#{ref.index}"
        )
    if decision.statements:
        console.print(table)
    elif decision.allowed:
        console.print("no statement needed: an account's root holds its account's permissions")
    else:
        console.print("no statement allows it: an implicit deny")
    raise typer.Exit(0 if decision.allowed else 1)
