"""``dockyard accounts``: the accounts of one deployment, each with its own root key."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dockyard.cli.iam import _open, run
from dockyard.cli.options import ConfigFile, DataDir

accounts = typer.Typer(help="Create and list accounts.", no_args_is_help=True)


@accounts.command("create")
def create(
    account_id: Annotated[
        str | None, typer.Option("--id", help="12 digits (default: chosen at random).")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create an account and its root access key; the secret is shown this once."""
    registry, _ = _open(data_dir, config)
    account, key = run(registry.iam.create_account(account_id))
    typer.echo(
        f"dockyard: created account {account.account_id}; its root access key (shown once):",
        err=True,
    )
    typer.echo(f"AWS_ACCOUNT_ID={account.account_id}")
    typer.echo(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
    typer.echo(f"AWS_SECRET_ACCESS_KEY={key.secret_access_key}")


@accounts.command("list")
def list_accounts(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List the accounts, the default first."""
    registry, default = _open(data_dir, config)
    table = Table("account", "root", "created")
    found = run(registry.iam.list_accounts())
    for account in sorted(found, key=lambda a: (a.account_id != default, a.account_id)):
        marker = " (default)" if account.account_id == default else ""
        table.add_row(account.account_id + marker, account.root_arn, account.created_at.isoformat())
    Console().print(table)
