"""``dockyard usage`` and ``dockyard jobs``: what the registry holds and what it has been doing."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dockyard.app import open_registry
from dockyard.cli.options import AccountId, ConfigFile, DataDir, Region, settings_from
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import JobRecord
from dockyard.services.jobs import KindStats


def usage(
    account_id: AccountId = None,
    region: Region = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Storage held by each repository of every registry (each blob counted once per
    repository; the store keeps it once for all)."""
    registry = open_registry(settings_from(config, data_dir=data_dir))

    async def collect() -> list[tuple[RepositoryKey, int]]:
        keys = await registry.all_repository_keys(account_id, region)
        return [(key, await registry.gc.storage_of(key)) for key in keys]

    try:
        rows = asyncio.run(collect())
    finally:
        registry.close()
    # Repository and bytes first, as before regions: scripts read those two columns.
    table = Table("repository", "bytes", "account", "region")
    for key, size in rows:
        table.add_row(key.name.value, f"{size:,}", key.scope.account_id, key.scope.region)
    Console().print(table)


def jobs(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 30,
    stats: Annotated[
        bool, typer.Option("--stats", help="Per kind: jobs in each state, run times.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array, with the owner (host:pid) of each.")
    ] = False,
    account_id: AccountId = None,
    region: Region = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Background jobs (GC, lifecycle, scans, restores): state, attempts, result or error.
    With --account-id or --region, only the jobs about that registry's repositories (the
    --stats counts are of every registry)."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    try:
        if stats:
            _print_stats(asyncio.run(registry.jobs.job_stats()))
            return
        records = asyncio.run(registry.jobs.recent(limit))
        default = registry.settings.region
        if account_id is not None or region is not None:
            records = [
                job
                for job in records
                if account_id in (None, _registry_of(job, default)[0])
                and region in (None, _registry_of(job, default)[1])
            ]
    finally:
        registry.close()
    if as_json:
        typer.echo(json.dumps([_job_json(job, default) for job in records], indent=2))
        return
    # The key: what a per-repository job is about (account/region/name), "periodic" for
    # the schedule's own runs; one queued or running job per kind and key.
    table = Table(
        "id", "kind", "state", "key", "attempts", "run after", "finished", "result / error"
    )
    for job in records:
        outcome = job.error or (str(job.result)[:60] if job.result else "")
        finished = job.finished_at.isoformat(timespec="seconds") if job.finished_at else ""
        table.add_row(
            str(job.id),
            job.kind,
            job.state,
            job.key or "",
            str(job.attempts),
            job.run_after.isoformat(timespec="seconds"),
            finished,
            outcome,
        )
    Console().print(table)


def _registry_of(job: JobRecord, default_region: str) -> tuple[str | None, str | None]:
    """(account, region) of the registry a job works in; (None, None) for the jobs of the
    whole deployment (GC, the sweeps). Payloads queued before regions name no region: the
    default one."""
    account = job.payload.get("account_id")
    if account is None:
        return None, None
    return str(account), str(job.payload.get("region") or default_region)


def _job_json(job: JobRecord, default_region: str) -> dict[str, Any]:
    account_id, region = _registry_of(job, default_region)
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "key": job.key,
        "account_id": account_id,
        "region": region,
        "attempts": job.attempts,
        "owner": job.owner,
        "run_after": job.run_after.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "result": job.result,
        "error": job.error,
    }


def _print_stats(stats: list[KindStats]) -> None:
    table = Table("kind", "queued", "running", "done", "failed", "mean s", "max s")
    for kind in stats:
        table.add_row(
            kind.kind,
            str(kind.queued),
            str(kind.running),
            str(kind.done),
            str(kind.failed),
            "" if kind.mean_seconds is None else f"{kind.mean_seconds:.1f}",
            "" if kind.max_seconds is None else f"{kind.max_seconds:.1f}",
        )
    Console().print(table)
