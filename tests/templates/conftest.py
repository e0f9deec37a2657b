"""Fixtures for the repository creation template tests.

* ``server``: one Dockyard for the package in its secure default mode (``open_access=False``:
  SigV4, Basic auth on ``/v2``, no ``--create-on-push``). Tests here never give it a ROOT
  template for CREATE_ON_PUSH (that would let every push create): the tests of ROOT and of
  the setting start servers of their own (``start_server``).
* ``ecr``, ``ecr_unvalidated``, ``iam``: boto3 clients of the root of account
  ``000000000000``; ``aws``: the real ``aws`` CLI against the server.
* ``prefix``: a unique template prefix; ``v2``: an httpx client on ``/v2`` logged in as root.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.authz import iam_client
from tests.support.ecr import REGION, AwsCli, login_client, make_client
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

StartServer = Callable[..., DockyardProcess]


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("templates-data"),
        log_dir=tmp_path_factory.mktemp("templates-log"),
        open_access=False,
    )
    with proc.serving():
        yield proc


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start a server of this test's own (extra ``serve`` arguments, a database URL);
    stopped at the end."""
    started: list[DockyardProcess] = []

    def start(*args: str, database_url: str | None = None) -> DockyardProcess:
        n = len(started)
        proc = DockyardProcess(
            tmp_path / f"data-{n}",
            log_dir=tmp_path / f"log-{n}",
            open_access=False,
            extra_args=list(args),
            database_url=database_url,
        )
        started.append(proc)
        proc.start_ready()
        return proc

    yield start
    for proc in started:
        if proc.running:
            proc.stop_cleanly()


@pytest.fixture(scope="package")
def ecr(server: DockyardProcess) -> Any:
    return make_client(server.url)


@pytest.fixture(scope="package")
def ecr_unvalidated(server: DockyardProcess) -> Any:
    return make_client(server.url, validate=False)


@pytest.fixture(scope="package")
def iam(server: DockyardProcess) -> Any:
    return iam_client(server.url)


@pytest.fixture(scope="package")
def aws(server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    home = tmp_path_factory.mktemp("aws-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(Path(home) / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(Path(home) / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )
    return AwsCli(server.url, env)


@pytest.fixture
def prefix() -> str:
    """A template prefix no other test uses."""
    return f"tpl-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="package")
def v2(ecr: Any, server: DockyardProcess) -> Iterator[httpx.Client]:
    with login_client(ecr, server.url) as client:
        yield client
