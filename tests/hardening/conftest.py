"""Fixtures for the hardening tests: one Dockyard in its secure default mode, with the
access log on and timeouts short enough for tests to wait them out.

* ``server``: the Dockyard process (header, body and keep-alive timeouts of ``TIMEOUT``).
* ``ecr``: a boto3 ECR client for its root credentials; ``repo``: a new repository.
* ``v2``: an ``httpx.Client`` on ``/v2`` logged in with GetAuthorizationToken's password.
* ``log``: the server's log from the start of the test on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.ecr import login_client, make_client
from tests.support.servers import DockyardProcess

TIMEOUT = 1.0  # seconds, for each of the header, body and keep-alive timeouts
KEEP_ALIVE = 2.0  # a little longer: test clients reuse connections between calls

TIMEOUT_ENV = {
    "DOCKYARD_HEADER_TIMEOUT": str(TIMEOUT),
    "DOCKYARD_BODY_TIMEOUT": str(TIMEOUT),
    "DOCKYARD_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE),
}


class ServerLog:
    """What the server logged since this object was made."""

    def __init__(self, server: DockyardProcess) -> None:
        self.server = server
        self.start = len(server.log_text())

    def text(self) -> str:
        return self.server.log_text()[self.start :]

    def lines(self) -> list[str]:
        return [line for line in self.text().splitlines() if line.strip()]


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("hardening-data"),
        log_dir=tmp_path_factory.mktemp("hardening-log"),
        open_access=False,
        extra_args=["--access-log"],
        env=TIMEOUT_ENV,
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@pytest.fixture(scope="package")
def ecr(server: DockyardProcess) -> Any:
    return make_client(server.url)


@pytest.fixture
def repo(ecr: Any) -> str:
    name = f"hardening/{uuid.uuid4().hex[:12]}"
    ecr.create_repository(repositoryName=name)
    return name


@pytest.fixture
def v2(ecr: Any, server: DockyardProcess) -> Iterator[httpx.Client]:
    with login_client(ecr, server.url) as client:
        yield client


@pytest.fixture
def log(server: DockyardProcess) -> ServerLog:
    return ServerLog(server)
