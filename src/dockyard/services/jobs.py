"""One job mechanism for all background work (GC, lifecycle; later scans, replication).

Jobs live in the database and are claimed with a lease, so one node or many
sharing PostgreSQL run each job once; a node that dies mid-job lets its lease
run out and another node takes the job again, which is why handlers must be
idempotent. Periodic work is a job that queues its own next run.

A running job renews its lease every third of it, so a long GC or scan is not
taken over while its node is alive; a node that finds its lease gone stops the
job and records nothing over the new owner's outcome. Failures are either
permanent (a domain error, ``PermanentJobError``: failed at once, since running
again gives the same answer) or transient (anything else: retried with
exponential backoff, up to ``max_attempts`` runs).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.domain.errors import DockyardError
from dockyard.metadata import JobRecord, JobStore
from dockyard.metadata.jobs import DONE, FAILED, QUEUED, RUNNING
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# The one place the lease length is set; Jobs(lease=...) overrides it (tests use seconds).
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RETRY_BASE = timedelta(seconds=30)  # doubled after each failed run
RETRY_CAP = timedelta(hours=1)


class PermanentJobError(Exception):
    """A job that cannot succeed by running again (bad payload, vanished subject)."""


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
    kind: str
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
        # Runs whose lease another node took before they ended, per kind: their outcome
        # was not recorded (the new owner's stands), so they are counted here instead.
        self.lost_leases: Counter[str] = Counter()

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def enqueue(
        self, kind: str, payload: dict[str, Any], key: str | None = None, delay: float = 0
    ) -> int:
        now = datetime.now(UTC)
        return await blocking(
            self._store.enqueue, kind, key, payload, now + timedelta(seconds=delay), now
        )

    async def run_now(
        self, kind: str, payload: dict[str, Any], key: str | None = None
    ) -> JobRecord:
        """Queue a job and run it here and now (the CLI's on-demand runs): recorded like any."""
        job = await blocking(
            self._store.start_here, kind, key, payload, self.owner, self.lease, datetime.now(UTC)
        )
        await self._run(job)
        done = await blocking(self._store.get, job.id)
        assert done is not None
        return done

    async def run_due(self) -> int:
        """Run every job that is due now; returns how many ran."""
        ran = 0
        while True:
            job = await blocking(self._store.claim, self.owner, datetime.now(UTC), self.lease)
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
                    await blocking(self._store.ensure_periodic, p.kind, p.key, p.every, now)
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job loop iteration failed; continuing")
            await asyncio.sleep(poll)

    async def recent(self, limit: int = 50) -> list[JobRecord]:
        return await blocking(self._store.recent, limit)

    async def job_stats(self, since: datetime | None = None) -> list[KindStats]:
        """Per kind: how many jobs are in each state and how long finished runs took."""
        outcomes = await blocking(self._store.outcomes, since)
        states: dict[str, Counter[str]] = {}
        durations: dict[str, list[float]] = {}
        for o in outcomes:
            states.setdefault(o.kind, Counter())[o.state] += 1
            if o.state in (DONE, FAILED) and o.started_at and o.finished_at:
                seconds = (o.finished_at - o.started_at).total_seconds()
                durations.setdefault(o.kind, []).append(seconds)
        stats = []
        for kind in sorted(states):
            counts, runs = states[kind], durations.get(kind, [])
            stats.append(
                KindStats(
                    kind=kind,
                    queued=counts[QUEUED],
                    running=counts[RUNNING],
                    done=counts[DONE],
                    failed=counts[FAILED],
                    mean_seconds=sum(runs) / len(runs) if runs else None,
                    max_seconds=max(runs) if runs else None,
                )
            )
        return stats

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
