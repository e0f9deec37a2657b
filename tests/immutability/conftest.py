"""Two Dockyards in their secure default mode for the tag-immutability tests, on each
metadata engine (SQLite, PostgreSQL) in turn.

* ``strict``: ECR's behaviour (a re-push of the same manifest to an immutable tag fails).
* ``repush``: started with ``--idempotent-immutable-repush``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.immutability.helpers import Target
from tests.support.auth import login_password
from tests.support.postgres import new_database
from tests.support.servers import DockyardProcess


def _target(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    engine: str,
    *args: str,
) -> Iterator[Target]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("immutability-data"),
        open_access=False,
        extra_args=list(args),
        log_dir=tmp_path_factory.mktemp("immutability-log"),
        database_url=new_database(request, engine).url,
    )
    with proc.serving():
        yield Target(proc, login_password(proc.url))


@pytest.fixture(scope="package")
def strict(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, database_engine: str
) -> Iterator[Target]:
    yield from _target(tmp_path_factory, request, database_engine)


@pytest.fixture(scope="package")
def repush(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, database_engine: str
) -> Iterator[Target]:
    yield from _target(tmp_path_factory, request, database_engine, "--idempotent-immutable-repush")


@pytest.fixture(autouse=True)
def _on_each_engine(database_engine: str) -> str:
    """Every test here runs on each engine, also those that pick their server by name
    (``request.getfixturevalue``), which pytest cannot see when it parametrizes."""
    return database_engine
