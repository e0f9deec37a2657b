"""The Alembic migrations build exactly the schema that tables.py declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dockyard.metadata import open_metadata
from dockyard.metadata.tables import metadata


def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    opened = open_metadata(None, tmp_path)  # runs every migration on a fresh SQLite
    try:
        with opened.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        opened.close()
    assert differences == [], "tables.py and the migrations disagree; add a migration"
