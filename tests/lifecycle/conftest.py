"""Fixtures for the lifecycle tests: one Dockyard per metadata engine, in its secure mode
(each test runs against the server on SQLite and the server on PostgreSQL).

The server's own lifecycle and GC schedules are off (interval 0), so nothing acts unless
a test asks; ``test_scheduler.py`` starts its own server with the schedule on.

* ``lc_server`` / ``data_dir``: the server and its data directory (for ``dockyard`` CLI
  runs and for moving stored push/pull times back, see ``helpers.set_image_times``).
* ``ecr`` (boto3, root keys), ``ecr_unvalidated`` (no client-side checks), ``aws`` (the
  real ``aws`` CLI), ``v2`` (httpx on ``/v2`` with Basic auth from GetAuthorizationToken).
* ``repo``: a new, empty repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ecr import AwsCli, login_client, make_client
from tests.support.lifecycle import QUIET_SCHEDULE, aws_cli, start_dockyard, stop_dockyard
from tests.support.postgres import new_database
from tests.support.servers import DockyardProcess


@pytest.fixture(scope="session")
def lc_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, database_engine: str
) -> Iterator[DockyardProcess]:
    proc = start_dockyard(
        tmp_path_factory.mktemp("lifecycle-data"),
        tmp_path_factory.mktemp("lifecycle-log"),
        QUIET_SCHEDULE,
        database_url=new_database(request, database_engine).url,
    )
    yield proc
    stop_dockyard(proc)


@pytest.fixture(scope="session")
def data_dir(lc_server: DockyardProcess) -> Path:
    return lc_server.data_dir


@pytest.fixture(scope="session")
def ecr(lc_server: DockyardProcess) -> Any:
    return make_client(lc_server.url)


@pytest.fixture(scope="session")
def ecr_unvalidated(lc_server: DockyardProcess) -> Any:
    return make_client(lc_server.url, validate=False)


@pytest.fixture(scope="session")
def aws(lc_server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return aws_cli(lc_server.url, tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="session")
def v2(ecr: Any, lc_server: DockyardProcess) -> Iterator[httpx.Client]:
    with login_client(ecr, lc_server.url) as client:
        yield client


@pytest.fixture
def repo(ecr: Any) -> str:
    name = f"lc/{uuid.uuid4().hex[:12]}"
    ecr.create_repository(repositoryName=name)
    return name
