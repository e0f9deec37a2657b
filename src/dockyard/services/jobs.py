"""One job mechanism for all background work (GC, lifecycle; later scans, replication).

Jobs live in the database and are claimed with a lease, so one node or many
sharing PostgreSQL run each job once; a node that dies mid-job lets its lease
run out and another node takes the job again, which is why handlers must be
idempotent. Periodic work is a job that queues its own next run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.metadata import JobRecord, JobStore
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Periodic:
    kind: str
    every: timedelta
    key: str = "periodic"


class Jobs:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._handlers: dict[str, Handler] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

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
            self._store.start_here, kind, key, payload, self.owner, LEASE, datetime.now(UTC)
        )
        await self._run(job)
        done = await blocking(self._store.get, job.id)
        assert done is not None
        return done

    async def run_due(self) -> int:
        """Run every job that is due now; returns how many ran."""
        ran = 0
        while True:
            job = await blocking(self._store.claim, self.owner, datetime.now(UTC), LEASE)
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

    async def _run(self, job: JobRecord) -> None:
        handler = self._handlers.get(job.kind)
        now = datetime.now(UTC)
        if handler is None:
            await blocking(
                self._store.fail, job.id, self.owner, f"no handler for {job.kind}", None, now
            )
            return
        try:
            result = await handler(job.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            retry = None
            if job.attempts < MAX_ATTEMPTS:
                retry = datetime.now(UTC) + timedelta(seconds=30 * job.attempts)
            await blocking(
                self._store.fail, job.id, self.owner, f"{type(exc).__name__}: {exc}", retry, now
            )
            return
        await blocking(self._store.finish, job.id, self.owner, result, datetime.now(UTC))
