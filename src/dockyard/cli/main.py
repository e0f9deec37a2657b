"""The ``dockyard`` command."""

from __future__ import annotations

import typer

from dockyard.cli import iam_entities  # noqa: F401  (adds its commands to `dockyard iam`)
from dockyard.cli.accounts import accounts
from dockyard.cli.cache import cache
from dockyard.cli.db import db
from dockyard.cli.gc import gc
from dockyard.cli.iam import iam
from dockyard.cli.lifecycle import lifecycle
from dockyard.cli.migrate_storage import migrate_storage
from dockyard.cli.replication import replication
from dockyard.cli.sbom import sbom
from dockyard.cli.serve import serve, settings_epilog
from dockyard.cli.status import jobs, usage
from dockyard.cli.vulndb import vulndb

app = typer.Typer(
    name="dockyard",
    help="Dockyard: a self-hosted container registry that behaves like Amazon ECR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command(epilog=settings_epilog())(serve)
app.command()(gc)
app.command()(usage)
app.command()(jobs)
app.command()(sbom)
app.command()(migrate_storage)
app.add_typer(iam, name="iam")
app.add_typer(accounts, name="accounts")
app.add_typer(lifecycle, name="lifecycle")
app.add_typer(vulndb, name="vulndb")
app.add_typer(db, name="db")
app.add_typer(replication, name="replication")
app.add_typer(cache, name="cache")


@app.callback()
def main() -> None:
    """Dockyard: a self-hosted container registry that behaves like Amazon ECR."""
