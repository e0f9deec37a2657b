"""Shared fixtures: real registry servers over real sockets.

* ``dockyard_registry`` / ``distribution_registry``: one server each per session.
* ``registry``: parametrized over both (ids ``dockyard`` and ``distribution``), so a test
  using it runs against Dockyard and against the CNCF distribution reference registry.
* ``repo_name``: a unique repository name per test.
* ``http``: an ``httpx.Client`` bound to ``registry.url``.
* ``seaweed``: SeaweedFS's S3 endpoint, one per session, started on first use.
* ``database_engine`` / ``database`` / ``postgres``: the metadata engine under test (each
  test using them runs on SQLite and on PostgreSQL), see ``tests/support/postgres.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import database, database_engine, postgres
from tests.support.seaweed import seaweed  # noqa: F401  (the session's S3 endpoint)
from tests.support.servers import DistributionProcess, DockyardProcess, Registry

__all__ = ["Registry", "database", "database_engine", "postgres"]

REGISTRY_KINDS = ["dockyard", "distribution"]


@pytest.fixture(scope="session")
def dockyard_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    data_dir = tmp_path_factory.mktemp("dockyard-data")
    proc = DockyardProcess(data_dir, log_dir=tmp_path_factory.mktemp("dockyard-log"))
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@pytest.fixture(scope="session")
def dockyard_registry(dockyard_process: DockyardProcess) -> Registry:
    return dockyard_process.registry()


@pytest.fixture(scope="session")
def distribution_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DistributionProcess]:
    root = tmp_path_factory.mktemp("distribution")
    proc = DistributionProcess(root, log_dir=tmp_path_factory.mktemp("distribution-log"))
    proc.start_ready()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def distribution_registry(distribution_process: DistributionProcess) -> Registry:
    return distribution_process.registry()


@pytest.fixture(params=REGISTRY_KINDS, ids=REGISTRY_KINDS)
def registry(request: pytest.FixtureRequest) -> Registry:
    """The registry under test; tests using this run once per registry kind."""
    reg: Registry = request.getfixturevalue(f"{request.param}_registry")
    return reg


@pytest.fixture
def repo_name() -> str:
    """A unique, valid repository name such as ``t/3f2a9c0d1e4b``."""
    return f"t/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def http(registry: Registry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A scratch directory for client tools (layouts, configs, storage)."""
    d = tmp_path / "work"
    d.mkdir()
    return d
