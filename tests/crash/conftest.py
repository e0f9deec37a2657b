"""Fixtures for crash tests: each test runs its own Dockyard processes on its own data dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import DockyardProcess

Spawn = Callable[..., DockyardProcess]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "dockyard-data"
    d.mkdir()
    return d


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a Dockyard on `data_dir` (optionally on a given port) and wait until it is ready.

    Every process started here is SIGKILLed at teardown if the test left it running.
    """
    procs: list[DockyardProcess] = []

    def _spawn(data_dir: Path, port: int | None = None) -> DockyardProcess:
        proc = DockyardProcess(data_dir, port=port)
        procs.append(proc)
        proc.start()
        try:
            proc.wait_ready(timeout=30)
        except BaseException:
            proc.kill()
            raise
        return proc

    yield _spawn
    for proc in procs:
        if proc.running:
            proc.kill()
