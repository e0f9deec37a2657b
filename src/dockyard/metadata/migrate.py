"""Schema migrations with Alembic, run at start-up by every command that opens the data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dockyard.metadata.database import writing

_SCRIPTS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    # Imported here: Alembic (with Mako) costs a process ~12 MB, which a server worker
    # that never migrates should not carry.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    # Take the write lock up front: a command started beside a running server must
    # wait its turn, not fail on a read lock it cannot upgrade.
    with writing(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
