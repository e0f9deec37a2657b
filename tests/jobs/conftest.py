"""The job tests' databases: each test that takes ``database_url`` or ``metadata`` (or the
shared ``database``) runs on SQLite (a file in its tmp_path) and on PostgreSQL, a
database of its own in the session's throwaway cluster (``tests/support/postgres.py``;
PostgreSQL missing fails those tests, saying how to install it). On PostgreSQL the claim
takes ``FOR UPDATE SKIP LOCKED`` and a duplicate key is a real race between transactions,
which SQLite's single writer never shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.metadata import Metadata, open_metadata
from tests.support.postgres import Database


@pytest.fixture
def database_url(database: Database) -> str | None:
    """None for SQLite (``open_metadata`` puts it in the data directory), else a new
    PostgreSQL database of its own."""
    return database.url


@pytest.fixture
def metadata(database_url: str | None, tmp_path: Path) -> Iterator[Metadata]:
    opened = open_metadata(database_url, tmp_path)
    yield opened
    opened.close()
