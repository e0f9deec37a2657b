"""``dockyard gc``: free what nothing references, beside a running server or instead of it."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from dockyard.app import open_registry
from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.config import parse_duration
from dockyard.services.job_payloads import GcPayload


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text).total_seconds()
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration (90s, 15m, 1h, 7d)") from None


def gc(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be freed.")] = False,
    grace_period: Annotated[
        str | None,
        typer.Option(
            help="Keep unreferenced content younger than this (default: the gc_grace_period "
            "setting). 0 frees at once: only when no writer is running."
        ),
    ] = None,
    upload_expiry: Annotated[
        str | None, typer.Option(help="Drop upload sessions idle longer than this.")
    ] = None,
) -> None:
    """Collect garbage: unreferenced blobs, stale repository links, abandoned uploads."""
    settings = settings_from(config, data_dir=data_dir)
    payload = GcPayload(_duration(grace_period), _duration(upload_expiry), dry_run)
    registry = open_registry(settings)
    console = Console(stderr=True)

    async def run() -> dict[str, object]:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
            bar.add_task("collecting garbage" + (" (dry run)" if dry_run else ""), total=None)
            job = await registry.jobs.run_now(payload)
        if job.state != "done" or job.result is None:
            raise typer.Exit(_report_failure(console, job.error))
        return job.result

    try:
        result = asyncio.run(run())
    finally:
        registry.close()
    verb = "would free" if dry_run else "freed"
    blobs = result.get("freed_blobs") or []
    typer.echo(
        f"{verb} {len(blobs)} blobs, {result.get('freed_bytes', 0)} bytes; "  # type: ignore[arg-type]
        f"dropped {result.get('dropped_links', 0)} stale repository links; "
        f"expired {result.get('expired_uploads', 0)} uploads; "
        f"removed {result.get('orphan_files', 0)} orphaned files"
    )
    for digest in blobs:  # type: ignore[attr-defined]
        typer.echo(f"  {digest}")


def _report_failure(console: Console, error: str | None) -> int:
    console.print(f"[red]garbage collection failed:[/red] {error}")
    return 1
