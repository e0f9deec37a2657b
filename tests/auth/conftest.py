"""Fixtures for the authentication tests: Dockyard in its secure default mode.

* ``auth_server``: one server for the package (``open_access=False``, debug logging and
  the access log on, so that the log holds as much as the server ever writes).
* ``start_dockyard(*args)``: more servers, with extra command-line flags, for one test.
* ``ledger``: every secret the tests saw; ``test_zz_secrets_not_logged.py`` searches the
  logs of every server started here for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.support.auth import SecretLedger, StartDockyard, login_password
from tests.support.servers import DockyardProcess

VERBOSE = ["--log-level", "debug", "--access-log"]


@pytest.fixture(scope="package")
def ledger() -> SecretLedger:
    return SecretLedger()


@pytest.fixture(scope="package")
def auth_servers() -> list[DockyardProcess]:
    """Every server the auth tests started (running or stopped), for the log checks."""
    return []


@pytest.fixture(scope="package")
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, auth_servers: list[DockyardProcess]
) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("auth-data"),
        open_access=False,
        extra_args=VERBOSE,
        log_dir=tmp_path_factory.mktemp("auth-log"),
    )
    auth_servers.append(proc)
    with proc.serving():
        yield proc


@pytest.fixture
def start_dockyard(
    tmp_path_factory: pytest.TempPathFactory, auth_servers: list[DockyardProcess]
) -> Iterator[StartDockyard]:
    """Start a secure-default Dockyard with extra flags; stopped when the test ends."""
    with ExitStack() as stack:

        def start(*extra_args: str) -> DockyardProcess:
            proc = DockyardProcess(
                tmp_path_factory.mktemp("auth-extra-data"),
                open_access=False,
                extra_args=[*VERBOSE, *extra_args],
                log_dir=tmp_path_factory.mktemp("auth-extra-log"),
            )
            auth_servers.append(proc)
            return stack.enter_context(proc.serving())

        yield start


@pytest.fixture(scope="package")
def root_password(auth_server: DockyardProcess, ledger: SecretLedger) -> str:
    """A registry password of the root key of ``auth_server``."""
    return ledger.add_password(login_password(auth_server.url))


@pytest.fixture
def v2(auth_server: DockyardProcess) -> Iterator[httpx.Client]:
    """An httpx client for ``auth_server`` that sends no credentials of its own."""
    with httpx.Client(base_url=auth_server.url, timeout=30) as client:
        yield client
