"""``dockyard cache status``: how each pull-through cache rule is doing."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dockyard.app import open_registry
from dockyard.cli.options import AccountId, ConfigFile, DataDir, Region, settings_from
from dockyard.services.pullthrough_status import RuleStatus

cache = typer.Typer(help="The pull-through cache.", no_args_is_help=True)


@cache.command()
def status(
    account_id: AccountId = None,
    region: Region = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Per pull-through cache rule: pulls served from the cache (hits), pulls fetched
    from the upstream (misses), upstream failures (the last one said), and the bytes its
    repositories hold. Each server process writes the hits it served every 2 seconds."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    try:
        rows = asyncio.run(registry.cache_status.status(account_id, region))
    finally:
        registry.close()
    if as_json:
        typer.echo(json.dumps([_json(row) for row in rows], indent=2))
        return
    table = Table(
        "prefix", "upstream", "hits", "misses", "upstream errors", "bytes stored", "last error"
    )
    for row in rows:
        table.add_row(
            row.prefix,
            row.upstream,
            str(row.hits),
            str(row.misses),
            str(row.upstream_errors),
            f"{row.bytes_stored:,}",
            row.last_error or "",
        )
    Console(width=200).print(table)


def _json(row: RuleStatus) -> dict[str, object]:
    return {
        "accountId": row.scope.account_id,
        "region": row.scope.region,
        "ecrRepositoryPrefix": row.prefix,
        "upstreamRegistryUrl": row.upstream,
        "hits": row.hits,
        "misses": row.misses,
        "upstreamErrors": row.upstream_errors,
        "lastError": row.last_error,
        "lastErrorAt": row.last_error_at.isoformat() if row.last_error_at else None,
        "repositories": row.repositories,
        "bytesStored": row.bytes_stored,
    }
