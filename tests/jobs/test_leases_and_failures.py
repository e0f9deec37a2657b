"""Jobs across nodes: leases renewed while a job runs, lost leases, permanent and transient
failures. Two ``Jobs`` over one real SQLite database play two nodes."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from dockyard.domain.errors import NameUnknown
from dockyard.metadata import Metadata
from dockyard.metadata.jobs import DONE, FAILED, QUEUED
from dockyard.services.jobs import Jobs, PermanentJobError
from tests.jobs.kinds import Chore, Errand

SECOND = timedelta(seconds=1)


def node(metadata: Metadata, **options: Any) -> Jobs:
    options.setdefault("lease", SECOND)
    return Jobs(metadata.jobs, **options)


def lost_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "another node took its lease" in r.getMessage()
    ]


def test_a_job_longer_than_its_lease_is_not_claimed_by_another_node(metadata: Metadata) -> None:
    a, b = node(metadata), node(metadata)
    runs: list[str] = []

    async def slow(payload: Chore) -> dict[str, Any]:
        runs.append("a")
        await asyncio.sleep(2.5)  # 2.5 leases
        return {"by": "a"}

    async def quick(payload: Chore) -> dict[str, Any]:
        runs.append("b")
        return {"by": "b"}

    a.register(Chore, slow)
    b.register(Chore, quick)

    async def scenario() -> int:
        job_id = await a.enqueue(Chore())
        running = asyncio.create_task(a.run_due())
        taken_by_b = 0
        for _ in range(12):  # node B polls through the whole run
            await asyncio.sleep(0.25)
            taken_by_b += await b.run_due()
        assert await running == 1
        return job_id

    job_id = asyncio.run(scenario())
    job = metadata.jobs.get(job_id)
    assert job is not None
    assert runs == ["a"]
    assert (job.state, job.attempts, job.result) == (DONE, 1, {"by": "a"})
    assert not a.lost_leases and not b.lost_leases


def test_a_node_that_stopped_renewing_does_not_overwrite_the_new_owner(
    metadata: Metadata, caplog: pytest.LogCaptureFixture
) -> None:
    # Node A's heartbeat is as good as paused: its lease runs out while it still works.
    a = node(metadata, heartbeat=timedelta(hours=1))
    b = node(metadata)

    async def slow(payload: Chore) -> dict[str, Any]:
        await asyncio.sleep(2)
        return {"by": "a"}

    async def quick(payload: Chore) -> dict[str, Any]:
        return {"by": "b"}

    a.register(Chore, slow)
    b.register(Chore, quick)

    async def scenario() -> int:
        job_id = await a.enqueue(Chore())
        running = asyncio.create_task(a.run_due())
        await asyncio.sleep(1.3)
        assert await b.run_due() == 1  # the lease ran out: B takes the job over
        await running
        return job_id

    with caplog.at_level(logging.WARNING, logger="dockyard.services.jobs"):
        job_id = asyncio.run(scenario())
    job = metadata.jobs.get(job_id)
    assert job is not None
    assert (job.state, job.attempts, job.result) == (DONE, 2, {"by": "b"})
    assert a.lost_leases == {"chore": 1} and not b.lost_leases
    assert len(lost_warnings(caplog)) == 1


def test_a_node_that_finds_its_lease_lost_stops_the_job(
    metadata: Metadata, caplog: pytest.LogCaptureFixture
) -> None:
    # A renews too late (after the lease ran out), finds B holding the job, and stops.
    a = node(metadata, heartbeat=timedelta(seconds=1.6))
    b = node(metadata)
    stopped = []

    async def endless(payload: Errand) -> dict[str, Any]:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(True)
            raise
        return {"by": "a"}

    async def quick(payload: Errand) -> dict[str, Any]:
        return {"by": "b"}

    a.register(Errand, endless)
    b.register(Errand, quick)

    async def scenario() -> tuple[int, float]:
        job_id = await a.enqueue(Errand())
        started = time.monotonic()
        running = asyncio.create_task(a.run_due())
        await asyncio.sleep(1.2)
        assert await b.run_due() == 1
        await asyncio.wait_for(running, 5)
        return job_id, time.monotonic() - started

    with caplog.at_level(logging.WARNING, logger="dockyard.services.jobs"):
        job_id, took = asyncio.run(scenario())
    job = metadata.jobs.get(job_id)
    assert job is not None
    assert (job.state, job.result) == (DONE, {"by": "b"})
    assert stopped == [True] and took < 5
    assert a.lost_leases == {"errand": 1}
    assert len(lost_warnings(caplog)) == 1


@pytest.mark.parametrize(
    "error", [PermanentJobError("payload names no image"), NameUnknown("team/gone", "123456789012")]
)
def test_a_permanent_failure_runs_once(metadata: Metadata, error: Exception) -> None:
    jobs = node(metadata, retry_base=timedelta(0))
    calls = []

    async def doomed(payload: Errand) -> dict[str, Any]:
        calls.append(1)
        raise error

    jobs.register(Errand, doomed)

    async def scenario() -> int:
        job_id = await jobs.enqueue(Errand())
        for _ in range(3):
            await jobs.run_due()
        return job_id

    job = metadata.jobs.get(asyncio.run(scenario()))
    assert job is not None
    assert calls == [1]
    assert (job.state, job.attempts) == (FAILED, 1)
    assert job.error is not None and type(error).__name__ in job.error


def test_a_transient_failure_retries_with_backoff_then_fails(metadata: Metadata) -> None:
    jobs = node(metadata, max_attempts=3, retry_base=timedelta(seconds=0.3))
    calls: list[float] = []

    async def flaky(payload: Chore) -> dict[str, Any]:
        calls.append(time.monotonic())
        raise ConnectionError("storage unreachable")

    jobs.register(Chore, flaky)

    async def scenario() -> int:
        job_id = await jobs.enqueue(Chore())
        await jobs.run_due()
        queued = metadata.jobs.get(job_id)
        assert queued is not None and queued.state == QUEUED  # waiting for its retry
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            await jobs.run_due()
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        await jobs.run_due()  # nothing more: three runs was the bound
        return job_id

    job = metadata.jobs.get(asyncio.run(scenario()))
    assert job is not None
    assert len(calls) == 3
    first_gap, second_gap = calls[1] - calls[0], calls[2] - calls[1]
    assert first_gap >= 0.3 and second_gap >= 0.6  # doubled after each failure
    assert (job.state, job.attempts) == (FAILED, 3)
    assert job.error == "ConnectionError: storage unreachable"
