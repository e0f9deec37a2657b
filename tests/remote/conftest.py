"""Registries for the remote-client tests.

* ``distribution_registry`` / ``dockyard_registry`` (the session's, from tests/conftest.py):
  docker-registry without auth and an open Dockyard.
* ``basic_distribution``: docker-registry with htpasswd Basic auth (user ``BASIC_USER``).
* ``auth_dockyard``: Dockyard in its secure default (root key, access log on), and
  ``bearer_dockyard``: the same behind ``BearerFront``, so it challenges with Bearer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from tests.remote.peers import BearerFront, HtpasswdDistribution, ThreadedServer
from tests.support.auth import login_password
from tests.support.servers import DockyardProcess

BASIC_USER = "replicator"
BASIC_PASSWORD = "htpasswd-secret-4d1c9b"

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a test's async body (the suite has no async test plugin)."""
    return asyncio.run(coro)


@pytest.fixture(scope="session")
def basic_distribution(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HtpasswdDistribution]:
    proc = HtpasswdDistribution(
        tmp_path_factory.mktemp("distribution-htpasswd"),
        {BASIC_USER: BASIC_PASSWORD},
        log_dir=tmp_path_factory.mktemp("distribution-htpasswd-log"),
    )
    proc.start_ready()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def auth_dockyard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("dockyard-auth-data"),
        log_dir=tmp_path_factory.mktemp("dockyard-auth-log"),
        open_access=False,
        extra_args=["--access-log"],
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@dataclass(frozen=True)
class BearerDockyard:
    url: str  # the front: challenges with Bearer, realm = Dockyard's token endpoint
    host: str
    process: DockyardProcess  # the Dockyard behind it
    password: str  # a GetAuthorizationToken password for user AWS

    def token_requests(self) -> int:
        """Token requests Dockyard served, from its access log."""
        return self.process.log_text().count('"GET /?')


@pytest.fixture(scope="session")
def bearer_dockyard(auth_dockyard: DockyardProcess) -> Iterator[BearerDockyard]:
    front = BearerFront(auth_dockyard.url, realm=f"{auth_dockyard.url}/")
    with ThreadedServer(front) as server:
        yield BearerDockyard(
            server.url,
            f"127.0.0.1:{server.port}",
            auth_dockyard,
            login_password(auth_dockyard.url),
        )
