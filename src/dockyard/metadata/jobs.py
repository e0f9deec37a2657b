"""The job queue's table: claim by lease, so several nodes can share one queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from dockyard.metadata.common import aware
from dockyard.metadata.database import reading, writing
from dockyard.metadata.tables import jobs

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    run_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class JobOutcome:
    kind: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None


def _held(job_id: int, owner: str) -> Any:
    """The job is still running under this owner's lease (not taken over by another node)."""
    return and_(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.state == RUNNING)


def _record(row: Any) -> JobRecord:
    return JobRecord(
        id=int(row.id),
        kind=row.kind,
        key=row.key,
        payload=dict(row.payload or {}),
        state=row.state,
        attempts=int(row.attempts),
        run_after=aware(row.run_after),
        started_at=aware(row.started_at) if row.started_at else None,
        finished_at=aware(row.finished_at) if row.finished_at else None,
        result=row.result,
        error=row.error,
    )


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def enqueue(
        self,
        kind: str,
        key: str | None,
        payload: dict[str, Any],
        run_after: datetime,
        now: datetime,
    ) -> int:
        with writing(self._engine) as conn:
            return int(
                conn.execute(
                    insert(jobs)
                    .values(
                        kind=kind,
                        key=key,
                        payload=payload,
                        state=QUEUED,
                        run_after=run_after,
                        created_at=now,
                    )
                    .returning(jobs.c.id)
                ).scalar_one()
            )

    def start_here(
        self,
        kind: str,
        key: str | None,
        payload: dict[str, Any],
        owner: str,
        lease: timedelta,
        now: datetime,
    ) -> JobRecord:
        """Record a job that this node runs at once (on-demand runs): no other node takes it."""
        with writing(self._engine) as conn:
            job_id = conn.execute(
                insert(jobs)
                .values(
                    kind=kind,
                    key=key,
                    payload=payload,
                    state=RUNNING,
                    run_after=now,
                    attempts=1,
                    lease_owner=owner,
                    lease_until=now + lease,
                    created_at=now,
                    started_at=now,
                )
                .returning(jobs.c.id)
            ).scalar_one()
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
        return _record(row)

    def ensure_periodic(self, kind: str, key: str, every: timedelta, now: datetime) -> None:
        """Queue the next run of a periodic job unless one is queued or running already."""
        with writing(self._engine) as conn:
            pending = conn.execute(
                select(jobs.c.id).where(
                    jobs.c.kind == kind, jobs.c.key == key, jobs.c.state.in_([QUEUED, RUNNING])
                )
            ).first()
            if pending is not None:
                return
            last = conn.execute(
                select(jobs.c.finished_at)
                .where(jobs.c.kind == kind, jobs.c.key == key, jobs.c.finished_at.is_not(None))
                .order_by(jobs.c.finished_at.desc())
                .limit(1)
            ).scalar()
            # Never run yet: one interval from now, so a start-up is not also a GC pass.
            run_after = max(now, aware(last) + every) if last else now + every
            conn.execute(
                insert(jobs).values(
                    kind=kind,
                    key=key,
                    payload={},
                    state=QUEUED,
                    run_after=run_after,
                    created_at=now,
                )
            )

    def claim(self, owner: str, now: datetime, lease: timedelta) -> JobRecord | None:
        """Take the next due job (or one whose lease ran out: its node died)."""
        due = or_(
            and_(jobs.c.state == QUEUED, jobs.c.run_after <= now),
            and_(jobs.c.state == RUNNING, jobs.c.lease_until < now),
        )
        with writing(self._engine) as conn:
            query = select(jobs.c.id).where(due).order_by(jobs.c.run_after).limit(1)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = conn.execute(query).scalar()
            if found is None:
                return None
            conn.execute(
                update(jobs)
                .where(jobs.c.id == found)
                .values(
                    state=RUNNING,
                    lease_owner=owner,
                    lease_until=now + lease,
                    attempts=jobs.c.attempts + 1,
                    started_at=now,
                )
            )
            row = conn.execute(select(jobs).where(jobs.c.id == found)).one()
        return _record(row)

    def renew(self, job_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend a running job's lease; False when this owner no longer holds it."""
        with writing(self._engine) as conn:
            renewed = conn.execute(
                update(jobs).where(_held(job_id, owner)).values(lease_until=now + lease)
            ).rowcount
        return bool(renewed)

    def finish(self, job_id: int, owner: str, result: dict[str, Any], now: datetime) -> bool:
        """Record success; False (nothing written) when another node holds the job now."""
        with writing(self._engine) as conn:
            done = conn.execute(
                update(jobs)
                .where(_held(job_id, owner))
                .values(state=DONE, finished_at=now, result=result, lease_until=None)
            ).rowcount
        return bool(done)

    def fail(
        self, job_id: int, owner: str, error: str, retry_at: datetime | None, now: datetime
    ) -> bool:
        """Record a failure, queued again at ``retry_at`` if given; False as for ``finish``."""
        values: dict[str, Any] = {"error": error[:4000], "lease_until": None}
        if retry_at is None:
            values |= {"state": FAILED, "finished_at": now}
        else:
            values |= {"state": QUEUED, "run_after": retry_at}
        with writing(self._engine) as conn:
            failed = conn.execute(
                update(jobs).where(_held(job_id, owner)).values(**values)
            ).rowcount
        return bool(failed)

    def outcomes(self, since: datetime | None = None) -> list[JobOutcome]:
        """Kind, state and run times of every job (created since ``since``), for per-kind stats."""
        query = select(jobs.c.kind, jobs.c.state, jobs.c.started_at, jobs.c.finished_at)
        if since is not None:
            query = query.where(jobs.c.created_at >= since)
        with reading(self._engine) as conn:
            rows = conn.execute(query).all()
        return [
            JobOutcome(
                kind=r.kind,
                state=r.state,
                started_at=aware(r.started_at) if r.started_at else None,
                finished_at=aware(r.finished_at) if r.finished_at else None,
            )
            for r in rows
        ]

    def recent(self, limit: int = 50) -> list[JobRecord]:
        with reading(self._engine) as conn:
            rows = conn.execute(select(jobs).order_by(jobs.c.id.desc()).limit(limit)).all()
        return [_record(r) for r in rows]

    def get(self, job_id: int) -> JobRecord | None:
        with reading(self._engine) as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return _record(row) if row else None
