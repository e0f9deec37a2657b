"""``dockyard lifecycle``: apply lifecycle policies now, and see what lifecycle did."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dockyard.app import open_registry
from dockyard.cli.options import AccountId, ConfigFile, DataDir, Region, settings_from
from dockyard.domain.errors import DockyardError
from dockyard.domain.records import RepositoryKey
from dockyard.services.job_payloads import LifecyclePayload
from dockyard.services.lifecycle import Applied

lifecycle = typer.Typer(help="Lifecycle policies.", no_args_is_help=True)


class LifecycleRunFailed(DockyardError):
    def __init__(self, repository: str, error: str) -> None:
        self.repository, self.error = repository, error

    def describe(self) -> str:
        return f"lifecycle run for {self.repository} failed: {self.error}"


@lifecycle.command("run")
def run(
    repository: Annotated[
        str | None,
        typer.Option(
            help="Only this repository, of the default account and region unless "
            "--account-id and --region say otherwise (default: every one with a policy)."
        ),
    ] = None,
    account_id: AccountId = None,
    region: Region = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, change nothing.")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Evaluate lifecycle policies and expire or archive what they select."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    console = Console()

    async def go() -> list[tuple[str, Applied]]:
        if repository:
            keys = [registry.key(repository, account_id, region)]
            await registry.lifecycle.get_policy(keys[0])  # a clear error when there is none
        else:
            keys = [
                key
                for key in await registry.lifecycle.repositories()
                if account_id in (None, key.scope.account_id) and region in (None, key.scope.region)
            ]
        done: list[tuple[str, Applied]] = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("applying lifecycle policies", total=len(keys))
            for key in keys:
                bar.update(task, description=_where(key))
                # The same job the scheduler runs, recorded like it (dockyard jobs).
                job = await registry.jobs.run_now(LifecyclePayload.of(key, dry_run))
                if job.state != "done" or job.result is None:
                    raise LifecycleRunFailed(_where(key), job.error or "unknown error")
                done += [(_where(key), Applied(**a)) for a in job.result["applied"]]
                bar.advance(task)
        return done

    try:
        applied = asyncio.run(go())
    except DockyardError as exc:
        typer.echo(f"dockyard lifecycle: {exc.describe()}", err=True)
        raise typer.Exit(1) from None
    finally:
        registry.close()
    table = Table("repository", "action", "rule", "digest", "tags")
    for name, a in applied:
        action = f"would {a.action}" if dry_run else a.action
        table.add_row(name, action, str(a.rule_priority), a.digest[:19], ", ".join(a.tags))
    console.print(table)
    console.print(f"{len(applied)} images {'selected' if dry_run else 'acted on'}")


def _where(key: RepositoryKey) -> str:
    """A repository as the operator reads it: account/region/name."""
    return f"{key.scope.account_id}/{key.scope.region}/{key.name}"


@lifecycle.command("actions")
def actions(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    account_id: AccountId = None,
    region: Region = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """What lifecycle did: when, which rule, which images."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    try:
        rows = asyncio.run(registry.lifecycle.actions(limit, account_id, region))
    finally:
        registry.close()
    table = Table("when", "repository", "action", "rule", "digest", "tags")
    for row in rows:
        table.add_row(
            str(row["at"]),
            f"{row['account_id']}/{row['region']}/{row['repository']}",
            row["action"],
            str(row["rule_priority"]),
            row["digest"][:19],
            ", ".join(row["tags"]),
        )
    Console().print(table)
