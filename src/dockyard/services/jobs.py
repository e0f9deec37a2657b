"""One job mechanism for all background work (GC, lifecycle, scans; later replication).

Jobs live in the database and are claimed with a lease, so one node or many
sharing PostgreSQL run each job once; a node that dies mid-job lets its lease
run out and another node takes the job again, which is why handlers must be
idempotent. Periodic work is a job that queues its own next run.

Work is bounded: a job is about one repository (a scan, a lifecycle run), and
registry-wide work is a small sweep that queues one such job per repository,
each retried on its own. A job queued with a key is not queued again while one
of its kind and key is queued or running (the jobs table's unique index decides,
across nodes), so a repository never has two lifecycle runs at once. Garbage
collection's mark and sweep is registry-wide by nature: it stays one job, run by
whichever node claims it, and its lease keeps every other node off it.

Each kind has one payload type (``job_payloads.py``); a stored payload that does
not read back fails the job permanently. Each finished run records its duration,
so ``job_stats`` is one GROUP BY; finished jobs are deleted after a retention
(7 days done, 30 days failed) so the table does not grow for ever.

A running job renews its lease every third of it, so a long GC or scan is not
taken over while its node is alive; a node that finds its lease gone stops the
job and records nothing over the new owner's outcome. Failures are either
permanent (a domain error, ``PermanentJobError``: failed at once, since running
again gives the same answer) or transient (anything else: retried with
exponential backoff, up to ``max_attempts`` runs). The claim never hands out
a job that has had its runs; one whose node died during its last run is failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.domain.errors import DockyardError
from dockyard.metadata import JobRecord, JobStore
from dockyard.metadata.jobs import DONE, FAILED, QUEUED, RUNNING
from dockyard.services.job_payloads import JobPayload, P, from_dict, to_dict
from dockyard.services.job_payloads import PermanentJobError as PermanentJobError
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# The one place the lease length is set; Jobs(lease=...) overrides it (tests use seconds).
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RETRY_BASE = timedelta(seconds=30)  # doubled after each failed run
RETRY_CAP = timedelta(hours=1)
KEEP_DONE = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)  # longer: a failure may still need looking into
PRUNE_EVERY = timedelta(hours=1)


def is_permanent(error: BaseException) -> bool:
    # A domain error is the registry's considered answer (unknown repository, invalid
    # manifest): the same input gives it again, so retrying only delays the failure.
    return isinstance(error, (PermanentJobError, DockyardError))


@dataclass(frozen=True, slots=True)
class KindStats:
    """Outcomes and run times of one job kind (durations of finished runs, in seconds)."""

    kind: str
    queued: int
    running: int
    done: int
    failed: int
    mean_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True, slots=True)
class Periodic:
    payload: JobPayload
    every: timedelta
    key: str = "periodic"


class Jobs:
    def __init__(
        self,
        store: JobStore,
        *,
        lease: timedelta = LEASE,
        heartbeat: timedelta | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        retry_base: timedelta = RETRY_BASE,
    ) -> None:
        self._store = store
        self._handlers: dict[str, Handler] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = lease
        # A third of the lease leaves two renewals' slack for a slow database or loop.
        self.heartbeat = heartbeat if heartbeat is not None else lease / 3
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self._pruned_at: float | None = None  # time.monotonic() of the last prune
        # Runs whose lease another node took before they ended, per kind: their outcome
        # was not recorded (the new owner's stands), so they are counted here instead.
        self.lost_leases: Counter[str] = Counter()

    def register(
        self,
        kind: type[P],
        run: Callable[[P], Awaitable[dict[str, Any]]],
        *,
        default_region: str | None = None,
    ) -> None:
        """Run jobs of ``kind`` (its payload type) with ``run``; ``default_region`` is the
        region of payloads queued before payloads named one."""

        async def handle(stored: dict[str, Any]) -> dict[str, Any]:
            return await run(from_dict(kind, stored, default_region))

        self._handlers[kind.KIND] = handle

    async def enqueue(self, payload: JobPayload, key: str | None = None, delay: float = 0) -> int:
        """Queue a job; with a key, the id of the job of that kind and key already queued or
        running if there is one, and nothing new."""
        now = datetime.now(UTC)
        return await blocking(
            self._store.enqueue,
            payload.KIND,
            key,
            to_dict(payload),
            now + timedelta(seconds=delay),
            now,
        )

    async def run_now(self, payload: JobPayload) -> JobRecord:
        """Queue a job and run it here and now (the CLI's on-demand runs): recorded like any."""
        job = await blocking(
            self._store.start_here,
            payload.KIND,
            None,
            to_dict(payload),
            self.owner,
            self.lease,
            datetime.now(UTC),
        )
        await self._run(job)
        done = await blocking(self._store.get, job.id)
        assert done is not None
        return done

    async def run_due(self) -> int:
        """Run every job that is due now; returns how many ran."""
        ran = 0
        while True:
            job = await blocking(
                self._store.claim, self.owner, datetime.now(UTC), self.lease, self.max_attempts
            )
            if job is None:
                return ran
            await self._run(job)
            ran += 1

    async def serve(self, periodic: list[Periodic], poll: float = 1.0) -> None:
        """The node's worker loop, until cancelled."""
        while True:
            try:
                now = datetime.now(UTC)
                for p in periodic:
                    await blocking(
                        self._store.ensure_periodic,
                        p.payload.KIND,
                        p.key,
                        to_dict(p.payload),
                        p.every,
                        now,
                    )
                await self._prune_now_and_then()
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job loop iteration failed; continuing")
            await asyncio.sleep(poll)

    async def recent(self, limit: int = 50) -> list[JobRecord]:
        return await blocking(self._store.recent, limit)

    async def prune(
        self, keep_done: timedelta = KEEP_DONE, keep_failed: timedelta = KEEP_FAILED
    ) -> int:
        """Delete jobs that finished longer ago than their state's retention; how many."""
        now, pruned = datetime.now(UTC), 0
        while True:
            # In batches, so a large backlog never holds the write lock for long.
            batch = await blocking(self._store.prune, now - keep_done, now - keep_failed)
            pruned += batch
            if not batch:
                return pruned

    async def _prune_now_and_then(self) -> None:
        # Every node prunes (a delete twice is harmless), at start and then hourly.
        since = None if self._pruned_at is None else time.monotonic() - self._pruned_at
        if since is None or since > PRUNE_EVERY.total_seconds():
            self._pruned_at = time.monotonic()
            await self.prune()

    async def job_stats(self, since: datetime | None = None) -> list[KindStats]:
        """Per kind: how many jobs are in each state and how long finished runs took."""
        counts: dict[str, Counter[str]] = {}
        timed: Counter[str] = Counter()
        total: dict[str, float] = {}
        longest: dict[str, float] = {}
        for t in await blocking(self._store.tallies, since):
            counts.setdefault(t.kind, Counter())[t.state] += t.jobs
            if t.state in (DONE, FAILED) and t.max_seconds is not None:
                timed[t.kind] += t.timed
                total[t.kind] = total.get(t.kind, 0.0) + t.total_seconds
                longest[t.kind] = max(longest.get(t.kind, 0.0), t.max_seconds)
        return [
            KindStats(
                kind=kind,
                queued=counts[kind][QUEUED],
                running=counts[kind][RUNNING],
                done=counts[kind][DONE],
                failed=counts[kind][FAILED],
                mean_seconds=total[kind] / timed[kind] if timed[kind] else None,
                max_seconds=longest.get(kind),
            )
            for kind in sorted(counts)
        ]

    async def _run(self, job: JobRecord) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            await blocking(
                self._store.fail,
                job.id,
                self.owner,
                f"no handler for {job.kind}",
                None,
                datetime.now(UTC),
            )
            return
        work = asyncio.ensure_future(handler(job.payload))
        lost = asyncio.Event()
        beat = asyncio.create_task(self._renew_while(job, work, lost))
        try:
            result = await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not lost.is_set() or (current is not None and current.cancelling()):
                raise  # shutdown, not a lost lease
            self._lost(job, "stopped: another node took its lease")
            return
        except Exception as exc:
            await self._failed(job, exc)
            return
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        if not await blocking(self._store.finish, job.id, self.owner, result, datetime.now(UTC)):
            self._lost(job, "finished after another node took its lease; result not recorded")

    async def _renew_while(
        self, job: JobRecord, work: asyncio.Future[Any], lost: asyncio.Event
    ) -> None:
        """Keep the lease while the handler runs; on losing it, stop the handler."""
        while not work.done():
            await asyncio.sleep(self.heartbeat.total_seconds())
            try:
                held = await blocking(
                    self._store.renew, job.id, self.owner, datetime.now(UTC), self.lease
                )
            except Exception:
                # The database may be back before the lease runs out; keep trying.
                log.warning("could not renew the lease of job %s (%s)", job.id, job.kind)
                continue
            if not held:
                lost.set()
                work.cancel()
                return

    async def _failed(self, job: JobRecord, exc: Exception) -> None:
        permanent = is_permanent(exc)
        retry = None
        if permanent:
            log.warning("job %s (%s) failed permanently: %s", job.id, job.kind, exc)
        else:
            log.error("job %s (%s) failed", job.id, job.kind, exc_info=exc)
            if job.attempts < self.max_attempts:
                delay = min(self.retry_base * 2 ** (job.attempts - 1), RETRY_CAP)
                retry = datetime.now(UTC) + delay
        error = f"{type(exc).__name__}: {exc}"
        if not await blocking(
            self._store.fail, job.id, self.owner, error, retry, datetime.now(UTC)
        ):
            self._lost(job, "failed after another node took its lease; error not recorded")

    def _lost(self, job: JobRecord, what: str) -> None:
        self.lost_leases[job.kind] += 1
        log.warning("job %s (%s) %s", job.id, job.kind, what)
