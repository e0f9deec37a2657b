"""Schema migrations with Alembic, run at start-up by every command that opens the data.

Many processes may start at once against one PostgreSQL database (workers, nodes): each
upgrades under a transaction-scoped advisory lock, so one of them migrates and the others
wait, then find the schema at head and do nothing. PostgreSQL's DDL is transactional, so
an upgrade that fails leaves the schema as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from dockyard.metadata.database import (
    create_database_engine,
    reading,
    serialize_migrations,
    writing,
)

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: with Mako it costs a process ~12 MB, which a
# server worker that never migrates should not carry.

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; the revision it is at afterwards."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = _config()
    # Take the write lock up front: a command started beside a running server must
    # wait its turn, not fail on a read lock it cannot upgrade.
    with writing(engine) as connection:
        serialize_migrations(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return MigrationContext.configure(connection).get_current_revision()


def current(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision this version of Dockyard knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade_database(url: str) -> str | None:
    """:func:`upgrade` the database at ``url``."""
    engine = create_database_engine(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """:func:`current` of the database at ``url`` (changes nothing)."""
    engine = create_database_engine(url)
    try:
        return current(engine)
    finally:
        engine.dispose()
