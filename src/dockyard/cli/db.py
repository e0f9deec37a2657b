"""``dockyard db``: the metadata database's schema, and moving the metadata to another database.

    dockyard db upgrade                       # bring the schema to this version's (prints it)
    dockyard db current                       # the schema's revision, changing nothing
    dockyard db copy --to postgresql://...    # every row into a new, empty database

Each works on the database the settings name (``--database-url``, ``DOCKYARD_DATABASE_URL``
or the config file; by default SQLite in the data directory).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.config import HELP, env_name
from dockyard.metadata import migrate, resolve_url
from dockyard.metadata.copy import BATCH_SIZE, CopyRefused, copy_database
from dockyard.metadata.database import redact

db = typer.Typer(
    help="The metadata database: schema upgrades, copying to another database.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=f"{HELP['database_url']} (env {env_name('database_url')}), "
        "e.g. postgresql://user:password@host:5432/dockyard",
    ),
]


def _database(data_dir: DataDir, config: ConfigFile, database_url: str | None) -> str:
    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return resolve_url(settings.database_url or None, settings.data_dir)


@db.command("upgrade")
def upgrade(
    data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Upgrade the schema to this version's newest revision, and print that revision.

    Servers do this when they start (one at a time, also across nodes); this does it
    ahead of them, e.g. before a rolling restart onto a new version.
    """
    typer.echo(migrate.upgrade_database(_database(data_dir, config, database_url)) or "none")


@db.command("current")
def current(
    data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Print the schema's revision (none: an empty database), changing nothing."""
    revision = migrate.current_revision(_database(data_dir, config, database_url))
    head = migrate.head()
    if revision == head:
        typer.echo(f"{revision} (head)")
    else:
        typer.echo(f"{revision or 'none'} (this version's head is {head}: `dockyard db upgrade`)")


@db.command("copy")
def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="URL of the database to copy into (e.g. postgresql://user:password@host/db); "
            "it is upgraded first and must hold no rows.",
        ),
    ],
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per insert.")] = BATCH_SIZE,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Copy every row of the metadata database into another, empty one.

    How an installation moves from its embedded SQLite onto PostgreSQL: stop the servers,
    copy, then start them with --database-url set to the target (the blobs stay where the
    storage settings say). Nothing in the source changes; a copy that fails leaves the
    target empty, to be run again.
    """
    source = _database(data_dir, config, database_url)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def advance(table: str, done: int, total: int) -> None:
            bar.update(task, description=table, completed=done, total=total)

        try:
            result = copy_database(source, to, advance, batch_size)
        except CopyRefused as exc:
            console.print(f"[red]dockyard db copy:[/red] {exc}")
            raise typer.Exit(1) from None
    summary = Table("table", "rows")
    for table, rows in result.rows.items():
        if rows:
            summary.add_row(table, f"{rows:,}")
    Console().print(summary)
    typer.echo(
        f"copied {result.total} rows of {len(result.rows)} tables from {redact(source)} "
        f"to {redact(to)} (schema revision {result.revision})"
    )
