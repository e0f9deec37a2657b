"""``dockyard vulndb``: the vulnerability data scans match against (OSV format)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dockyard.app import open_registry
from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.metadata.vulndb import ImportResult

vulndb = typer.Typer(help="Vulnerability data for image scanning.", no_args_is_help=True)


@vulndb.command("import")
def import_(
    sources: Annotated[
        list[str], typer.Argument(help="osv.dev all.zip exports, directories of OSV JSON, or URLs")
    ],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Import OSV records (idempotent: a re-import changes nothing)."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    console = Console()

    async def run() -> list[ImportResult]:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            tasks = {source: bar.add_task(f"importing {source}", total=None) for source in sources}

            def advance(source: str, done: int, total: int | None) -> None:
                bar.update(tasks[source], completed=done, total=total)

            return await registry.scanning.import_vulnerabilities(list(sources), advance)

    try:
        results = asyncio.run(run())
    finally:
        registry.close()
    for r in results:
        data = r.data_modified.date().isoformat() if r.data_modified else "unknown"
        console.print(
            f"{r.source}: {r.records} records ({r.invalid} invalid), {r.added} added, "
            f"{r.updated} updated, {r.unchanged} unchanged; data as of {data}"
        )
        for problem in r.problems:
            console.print(f"  [yellow]invalid:[/yellow] {problem}")


@vulndb.command("status")
def status(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """What vulnerability data is loaded, and how recent it is."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    try:
        found = asyncio.run(registry.scanning.vulnerability_status())
    finally:
        registry.close()
    table = Table("ecosystem", "records", "withdrawn")
    for e in found.ecosystems:
        table.add_row(e.ecosystem, str(e.records), str(e.withdrawn))
    console = Console()
    console.print(table)
    data = found.data_modified.isoformat() if found.data_modified else "no data"
    last = found.last_import_at.isoformat() if found.last_import_at else "never"
    console.print(f"{found.records} records; newest record {data}; last import {last}")
