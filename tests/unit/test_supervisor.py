"""The worker supervisor's bookkeeping (``dockyard.cli.workers.Supervisor``), in-process."""

from __future__ import annotations

import os
import signal
import time

import psutil

from dockyard.cli.workers import Supervisor


def _wait_until_exited(pids: list[int]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in pids):
            return
        time.sleep(0.02)
    raise AssertionError("the workers did not exit")


def test_workers_that_exit_as_the_server_stops_are_all_forgotten() -> None:
    """Several workers exit at once and SIGTERM arrives meanwhile: each reaped worker is
    forgotten, or the drain would wait out its whole time for pids already gone."""
    supervisor = Supervisor(3, work=lambda: None, drain_seconds=30)
    for _ in range(3):
        supervisor._spawn(os.getpid())
    _wait_until_exited(list(supervisor._children))
    supervisor._stopping = signal.SIGTERM
    assert supervisor._replace_exited(os.getpid()) is False
    assert supervisor._children == {}
    started = time.monotonic()
    supervisor._drain()
    assert time.monotonic() - started < 1


def test_a_worker_that_exits_is_replaced() -> None:
    supervisor = Supervisor(2, work=lambda: None)
    for _ in range(2):
        supervisor._spawn(os.getpid())
    first = set(supervisor._children)
    _wait_until_exited(list(first))
    supervisor._replace_exited(os.getpid())
    assert len(supervisor._children) == 2 and not first & supervisor._children.keys()
    _wait_until_exited(list(supervisor._children))
    supervisor._stopping = signal.SIGTERM
    supervisor._replace_exited(os.getpid())
    assert supervisor._children == {}
