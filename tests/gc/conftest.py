"""Fixtures for the GC tests: a fresh Dockyard (secure mode) for every test.

Each test gets its own data directory, so what ``dockyard gc`` reports and what is left
under ``<data-dir>/storage`` belong to that test alone. The server's own GC and
lifecycle schedules are off unless a test starts a server of its own. Every test runs on
SQLite and on PostgreSQL (``database``).

* ``gc_server`` / ``data_dir``; ``ecr`` (boto3, root keys); ``v2`` (httpx on ``/v2``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ecr import login_client, make_client
from tests.support.lifecycle import QUIET_SCHEDULE, start_dockyard, stop_dockyard
from tests.support.postgres import Database
from tests.support.servers import DockyardProcess


@pytest.fixture
def gc_server(tmp_path: Path, database: Database) -> Iterator[DockyardProcess]:
    proc = start_dockyard(
        tmp_path / "data", tmp_path / "log", QUIET_SCHEDULE, database_url=database.url
    )
    yield proc
    stop_dockyard(proc)


@pytest.fixture
def data_dir(gc_server: DockyardProcess) -> Path:
    return gc_server.data_dir


@pytest.fixture
def ecr(gc_server: DockyardProcess) -> Any:
    return make_client(gc_server.url)


@pytest.fixture
def v2(ecr: Any, gc_server: DockyardProcess) -> Iterator[httpx.Client]:
    with login_client(ecr, gc_server.url) as client:
        yield client
