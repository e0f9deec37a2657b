"""``dockyard replication status|retry``: each image's replication to each destination,
and queueing the failed ones again (after the cause is fixed: a registry policy, a tag)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from dockyard.app import open_registry
from dockyard.cli.options import AccountId, ConfigFile, DataDir, Region, settings_from
from dockyard.domain.replication import ReplicationStatus

replication = typer.Typer(
    help="Replication: per-image status at each destination, and retries.",
    no_args_is_help=True,
)

Repository = Annotated[
    str | None, typer.Option("--repository", help="Only this repository (its name).")
]


@replication.command()
def status(
    account_id: AccountId = None,
    region: Region = None,
    repository: Repository = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only FAILED ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Every image's replication status at each destination, newest change first."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    wanted = ReplicationStatus.FAILED if failed else None
    try:
        found = asyncio.run(
            registry.replication.every_status(account_id, region, repository, wanted)
        )
    finally:
        registry.close()
    if not as_json:
        typer.echo("repository  digest  destination  status  failure  attempts  last error")
    for key, digest, each in found:
        row = {
            "account_id": key.scope.account_id,
            "region": key.scope.region,
            "repository": key.name.value,
            "digest": digest,
            "destination": each.destination.id,
            "status": each.status.value,
            "failure_code": each.failure_code,
            "attempts": each.attempts,
            "last_error": each.last_error,
            "updated_at": each.updated_at.isoformat(),
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            where = f"{key.scope.account_id}/{key.scope.region}/{key.name.value}"
            typer.echo(
                f"{where}  {digest}  {each.destination.id}  {each.status.value}  "
                f"{each.failure_code or '-'}  {each.attempts}  {each.last_error or '-'}"
            )


@replication.command()
def retry(
    account_id: AccountId = None,
    region: Region = None,
    repository: Repository = None,
    digest: Annotated[str | None, typer.Option("--digest", help="Only this image.")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Queue every FAILED replication again (a running server's workers run them)."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    try:
        queued = asyncio.run(registry.replication.retry(account_id, region, repository, digest))
    finally:
        registry.close()
    for key, image, destination in queued:
        where = f"{key.scope.account_id}/{key.scope.region}/{key.name.value}"
        typer.echo(f"queued {where}@{image} -> {destination.id}")
    typer.echo(f"{len(queued)} replication(s) queued")
