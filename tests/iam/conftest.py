"""Fixtures for the IAM and STS tests.

* ``local``: a Registry opened in-process on a fresh data directory (no server), with
  the default account bootstrapped, for the service-level tests.
* ``clock``: the epoch seconds that registry's identity service sees; tests move it to see
  sessions and passwords end without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.app import bootstrap_root, open_registry
from dockyard.config import load_settings
from dockyard.domain.identity import Caller, Principal, PrincipalKind
from dockyard.services import Registry

DEFAULT_ACCOUNT = "000000000000"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def root_of(account_id: str) -> Caller:
    return Caller(Principal(account_id, "root", PrincipalKind.ROOT), "AKIATESTROOT")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local(tmp_path: Path, clock: Clock) -> Iterator[Registry]:
    settings = load_settings({"data_dir": tmp_path / "data"}, None, {})
    opened = open_registry(settings)
    bootstrap_root(opened, settings)
    opened.identity.clock = clock
    yield opened
    opened.close()


@pytest.fixture
def root() -> Caller:
    return root_of(DEFAULT_ACCOUNT)
