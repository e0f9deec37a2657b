"""The Alembic migrations build exactly the schema that tables.py declares, on each engine."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dockyard.metadata import migrate, open_metadata
from dockyard.metadata.tables import metadata
from tests.support.postgres import Database


def test_migrations_match_the_declared_schema(tmp_path: Path, database: Database) -> None:
    opened = open_metadata(database.url, tmp_path)  # runs every migration on an empty database
    try:
        assert migrate.current(opened.engine) == migrate.head()
        with opened.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        opened.close()
    assert differences == [], "tables.py and the migrations disagree; add a migration"
