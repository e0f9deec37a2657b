"""The queue's rules over a real SQLite file: keyed jobs pending once, claims within
max_attempts, per-kind stats from SQL, pruning of old finished jobs."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.metadata import Metadata, open_metadata
from dockyard.metadata.jobs import DONE, FAILED, QUEUED, RUNNING, JobStore
from dockyard.metadata.tables import jobs as jobs_table
from dockyard.services.jobs import Jobs, PermanentJobError
from tests.jobs.kinds import Chore, Errand

MINUTE = timedelta(minutes=1)


def rows(metadata: Metadata, kind: str) -> list[Any]:
    with metadata.engine.connect() as conn:
        return list(
            conn.execute(
                select(jobs_table).where(jobs_table.c.kind == kind).order_by(jobs_table.c.id)
            ).all()
        )


async def finish_everything(jobs: Jobs) -> None:
    while await jobs.run_due():
        pass


# --------------------------------------------------------------------------- dedupe


def test_a_keyed_job_is_queued_once_while_it_is_pending(metadata: Metadata) -> None:
    jobs = Jobs(metadata.jobs, lease=MINUTE)
    ran: list[Chore] = []

    async def chore(payload: Chore) -> dict[str, Any]:
        ran.append(payload)
        return {}

    jobs.register(Chore, chore)

    async def scenario() -> tuple[int, ...]:
        first = await jobs.enqueue(Chore(), key="team/app")
        again = await jobs.enqueue(Chore(seconds=1), key="team/app")  # same key: nothing new
        other = await jobs.enqueue(Chore(), key="team/web")
        unkeyed = [await jobs.enqueue(Chore()), await jobs.enqueue(Chore())]
        assert again == first and other != first and unkeyed[0] != unkeyed[1]
        await finish_everything(jobs)
        after = await jobs.enqueue(Chore(), key="team/app")  # the first is done: queued anew
        return first, after

    first, after = asyncio.run(scenario())
    assert after != first
    stored = rows(metadata, "chore")
    assert [(r.key, r.state) for r in stored] == [
        ("team/app", DONE),
        ("team/web", DONE),
        (None, DONE),
        (None, DONE),
        ("team/app", QUEUED),
    ]
    assert len(ran) == 4 and Chore(seconds=1) not in ran


def test_nodes_queueing_one_key_at_once_make_one_row(
    database_url: str | None, tmp_path: Path
) -> None:
    # Four nodes, each with its own engine on the same database, queue the same key.
    nodes = [open_metadata(database_url, tmp_path) for _ in range(4)]
    start = threading.Barrier(len(nodes))
    ids: list[int] = []

    def node(store: JobStore) -> None:
        start.wait()
        for _ in range(10):
            now = datetime.now(UTC)
            ids.append(store.enqueue("chore", "team/app", {}, now, now))

    threads = [threading.Thread(target=node, args=(m.jobs,)) for m in nodes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(ids) == 40 and len(set(ids)) == 1
        assert len(rows(nodes[0], "chore")) == 1
    finally:
        for m in nodes:
            m.close()


def test_the_database_refuses_a_second_pending_job_of_one_kind_and_key(
    metadata: Metadata,
) -> None:
    now = datetime.now(UTC)
    values = {"kind": "chore", "key": "team/app", "payload": {}, "run_after": now}
    with metadata.engine.begin() as conn:
        conn.execute(insert(jobs_table).values(state=QUEUED, created_at=now, **values))
    for state in (QUEUED, RUNNING):
        with pytest.raises(IntegrityError), metadata.engine.begin() as conn:
            conn.execute(insert(jobs_table).values(state=state, created_at=now, **values))
    # Finished jobs of the key are history, as many as there were runs.
    with metadata.engine.begin() as conn:
        for state in (DONE, DONE, FAILED):
            conn.execute(insert(jobs_table).values(state=state, created_at=now, **values))
    assert sorted(r.state for r in rows(metadata, "chore")) == [DONE, DONE, FAILED, QUEUED]


# --------------------------------------------------------------------------- attempts


def test_the_claim_never_hands_out_a_job_that_used_its_attempts(metadata: Metadata) -> None:
    store, lease = metadata.jobs, timedelta(seconds=10)
    t0 = datetime.now(UTC)
    queued = store.enqueue("chore", None, {}, t0, t0)
    # A job whose node died during each of its runs: claimed, never finished.
    dying = store.enqueue("errand", None, {}, t0, t0)
    with metadata.engine.begin() as conn:
        # Queued again after three failed runs by a node that allowed more of them.
        conn.execute(update(jobs_table).where(jobs_table.c.id == queued).values(attempts=3))

    claimed = store.claim("node-a", t0, lease, max_attempts=3)
    assert claimed is not None and claimed.id == dying and claimed.attempts == 1
    later = t0 + 2 * lease  # node A died; its lease ran out
    claimed = store.claim("node-b", later, lease, max_attempts=2)
    assert claimed is not None and claimed.id == dying and claimed.attempts == 2
    assert store.claim("node-c", later + 2 * lease, lease, max_attempts=2) is None

    gave_up = store.get(dying)
    assert gave_up is not None
    assert (gave_up.state, gave_up.attempts) == (FAILED, 2)
    assert gave_up.error == "its node stopped during run 2 of 2"
    untouched = store.get(queued)
    assert untouched is not None and (untouched.state, untouched.attempts) == (QUEUED, 3)
    assert store.claim("node-c", later + 3 * lease, lease, max_attempts=3) is None


# --------------------------------------------------------------------------- stats


def test_stats_per_kind_count_states_and_time_finished_runs(metadata: Metadata) -> None:
    jobs = Jobs(metadata.jobs, lease=MINUTE, retry_base=timedelta(hours=1))

    async def work(payload: Chore | Errand) -> dict[str, Any]:
        await asyncio.sleep(payload.seconds)
        if payload.fail and isinstance(payload, Errand):
            raise ConnectionError("retried later")
        if payload.fail:
            raise PermanentJobError("no")
        return {}

    jobs.register(Chore, work)
    jobs.register(Errand, work)

    async def scenario() -> None:
        for chore in (Chore(seconds=0.1), Chore(seconds=0.3), Chore(fail=True, seconds=0.2)):
            await jobs.enqueue(chore)
        await jobs.enqueue(Errand(seconds=0.1))
        await jobs.enqueue(Errand(fail=True))  # fails once, queued for its retry in an hour
        await jobs.enqueue(Errand(), delay=3600)
        await finish_everything(jobs)

    asyncio.run(scenario())
    stats = {s.kind: s for s in asyncio.run(jobs.job_stats())}
    chore, errand = stats["chore"], stats["errand"]
    assert (chore.queued, chore.running, chore.done, chore.failed) == (0, 0, 2, 1)
    assert (errand.queued, errand.running, errand.done, errand.failed) == (2, 0, 1, 0)

    # The figures are those of the recorded runs: finished_at - started_at of each.
    def runs(kind: str) -> list[float]:
        return [
            (r.finished_at - r.started_at).total_seconds()
            for r in metadata.jobs.recent(100)
            if r.kind == kind and r.finished_at is not None and r.started_at is not None
        ]

    chores, errands = runs("chore"), runs("errand")
    assert len(chores) == 3 and len(errands) == 1
    assert chore.mean_seconds == pytest.approx(sum(chores) / 3, abs=1e-3)
    assert chore.max_seconds == pytest.approx(max(chores), abs=1e-3)
    assert chore.mean_seconds is not None and chore.max_seconds is not None
    assert 0.2 <= chore.mean_seconds < 1.2 and 0.3 <= chore.max_seconds < 1.3
    assert errand.mean_seconds == pytest.approx(errands[0], abs=1e-3)
    assert errand.max_seconds == errand.mean_seconds


def test_stats_since_count_only_jobs_created_since(metadata: Metadata) -> None:
    store = metadata.jobs
    long_ago = datetime.now(UTC) - timedelta(days=3)
    store.enqueue("chore", None, {}, long_ago, long_ago)
    now = datetime.now(UTC)
    store.enqueue("chore", None, {}, now, now)
    jobs = Jobs(store)
    (recent,) = asyncio.run(jobs.job_stats(since=now - MINUTE))
    (every,) = asyncio.run(jobs.job_stats())
    assert (recent.kind, recent.queued, every.queued) == ("chore", 1, 2)


# --------------------------------------------------------------------------- pruning


def finished(store: JobStore, kind: str, ok: bool, days_ago: float) -> int:
    """A job that ran and finished ``days_ago`` (the store takes the moment as given)."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    job_id = store.enqueue(kind, None, {}, at, at)
    claimed = store.claim("node", at, MINUTE, max_attempts=3)
    assert claimed is not None and claimed.id == job_id
    end = at + timedelta(seconds=2)
    if ok:
        assert store.finish(job_id, "node", {}, end)
    else:
        assert store.fail(job_id, "node", "broken", None, end)
    return job_id


def test_old_finished_jobs_are_pruned_and_the_rest_kept(metadata: Metadata) -> None:
    store = metadata.jobs
    old_done = finished(store, "chore", True, days_ago=10)
    recent_done = finished(store, "chore", True, days_ago=1)
    recent_failure = finished(store, "chore", False, days_ago=10)  # failures are kept longer
    old_failure = finished(store, "chore", False, days_ago=40)
    long_ago = datetime.now(UTC) - timedelta(days=60)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    still_queued = store.enqueue("errand", None, {}, tomorrow, long_ago)
    assert store.get(old_done) is not None and store.get(old_failure) is not None

    jobs = Jobs(store)

    async def serve_briefly() -> None:
        # The worker loop prunes when it starts (then hourly); run it for a moment.
        loop = asyncio.create_task(jobs.serve([], poll=0.05))
        await asyncio.sleep(0.3)
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)

    asyncio.run(serve_briefly())
    assert store.get(old_done) is None and store.get(old_failure) is None
    kept = [store.get(i) for i in (recent_done, recent_failure)]
    assert [j.state if j else None for j in kept] == [DONE, FAILED]
    # Not finished, so kept whatever its age.
    waiting = store.get(still_queued)
    assert waiting is not None and waiting.state == QUEUED
    assert asyncio.run(jobs.prune()) == 0


def test_pruning_goes_in_batches(metadata: Metadata) -> None:
    store = metadata.jobs
    for _ in range(5):
        finished(store, "chore", True, days_ago=8)
    cut = datetime.now(UTC) - timedelta(days=7)
    assert [store.prune(cut, cut, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert rows(metadata, "chore") == []
