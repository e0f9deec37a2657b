"""The job queue's table: claim by lease, so several nodes can share one queue.

A job with a key is queued at most once per (kind, key) while it is queued or
running: a unique partial index says so (``uq_jobs_pending_kind_key``), so two
nodes queueing the same work at the same moment make one row whatever the
engine's isolation level. Each finished run records how long it took
(``duration_seconds``), so per-kind statistics are one GROUP BY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.metadata.common import aware
from dockyard.metadata.database import reading, writing
from dockyard.metadata.tables import jobs

# tables.py names the first two in the pending-jobs index.
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
    owner: str | None = None  # host:pid:run of the process that claimed it last


@dataclass(frozen=True, slots=True)
class StateTally:
    """How many jobs of a kind are in a state, and the run times of those that finished."""

    kind: str
    state: str
    jobs: int
    timed: int  # how many have a recorded run time
    total_seconds: float
    max_seconds: float | None


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
        owner=row.lease_owner,
    )


def _pending(conn: Connection, kind: str, key: str) -> int | None:
    return conn.execute(
        select(jobs.c.id).where(
            jobs.c.kind == kind, jobs.c.key == key, jobs.c.state.in_([QUEUED, RUNNING])
        )
    ).scalar()


def _insert_queued(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a queued job; with a key, the pending job of that kind and key if there is one."""
    kind, key = values["kind"], values["key"]
    if key is not None and (found := _pending(conn, kind, key)) is not None:
        return found
    statement = insert(jobs).values(state=QUEUED, **values).returning(jobs.c.id)
    if key is None:
        return int(conn.execute(statement).scalar_one())
    try:
        # A savepoint, so losing the race to another node leaves this transaction usable.
        with conn.begin_nested():
            return int(conn.execute(statement).scalar_one())
    except IntegrityError:
        found = _pending(conn, kind, key)
        if found is None:
            raise
        return found


def _run_time(conn: Connection, job_id: int, owner: str, now: datetime) -> float | None:
    started = conn.execute(select(jobs.c.started_at).where(_held(job_id, owner))).scalar()
    return (now - aware(started)).total_seconds() if started is not None else None


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
        """Queue a job; with a key, none when one of that kind and key is queued or running
        (its id is returned instead)."""
        values = {
            "kind": kind,
            "key": key,
            "payload": payload,
            "run_after": run_after,
            "created_at": now,
        }
        with writing(self._engine) as conn:
            return _insert_queued(conn, values)

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

    def ensure_periodic(
        self, kind: str, key: str, payload: dict[str, Any], every: timedelta, now: datetime
    ) -> None:
        """Queue the next run of a periodic job unless one is queued or running already."""
        with writing(self._engine) as conn:
            if _pending(conn, kind, key) is not None:
                return
            last = conn.execute(
                select(jobs.c.finished_at)
                .where(jobs.c.kind == kind, jobs.c.key == key, jobs.c.finished_at.is_not(None))
                .order_by(jobs.c.finished_at.desc())
                .limit(1)
            ).scalar()
            # Never run yet: one interval from now, so a start-up is not also a GC pass.
            run_after = max(now, aware(last) + every) if last else now + every
            values = {
                "kind": kind,
                "key": key,
                "payload": payload,
                "run_after": run_after,
                "created_at": now,
            }
            _insert_queued(conn, values)

    def claim(
        self, owner: str, now: datetime, lease: timedelta, max_attempts: int
    ) -> JobRecord | None:
        """Take the next due job (or one whose lease ran out: its node died) that has runs
        left; a job whose node died on its last run is failed instead."""
        with writing(self._engine) as conn:
            conn.execute(
                update(jobs)
                .where(
                    jobs.c.state == RUNNING,
                    jobs.c.lease_until < now,
                    jobs.c.attempts >= max_attempts,
                )
                .values(
                    state=FAILED,
                    finished_at=now,
                    lease_until=None,
                    error=f"its node stopped during run {max_attempts} of {max_attempts}",
                )
            )
            due = or_(
                and_(jobs.c.state == QUEUED, jobs.c.run_after <= now),
                and_(jobs.c.state == RUNNING, jobs.c.lease_until < now),
            )
            query = (
                select(jobs.c.id)
                .where(due, jobs.c.attempts < max_attempts)
                .order_by(jobs.c.run_after)
                .limit(1)
            )
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
            took = _run_time(conn, job_id, owner, now)
            done = conn.execute(
                update(jobs)
                .where(_held(job_id, owner))
                .values(
                    state=DONE,
                    finished_at=now,
                    duration_seconds=took,
                    result=result,
                    lease_until=None,
                )
            ).rowcount
        return bool(done)

    def fail(
        self, job_id: int, owner: str, error: str, retry_at: datetime | None, now: datetime
    ) -> bool:
        """Record a failure, queued again at ``retry_at`` if given; False as for ``finish``."""
        values: dict[str, Any] = {"error": error[:4000], "lease_until": None}
        with writing(self._engine) as conn:
            if retry_at is None:
                took = _run_time(conn, job_id, owner, now)
                values |= {"state": FAILED, "finished_at": now, "duration_seconds": took}
            else:
                values |= {"state": QUEUED, "run_after": retry_at}
            failed = conn.execute(
                update(jobs).where(_held(job_id, owner)).values(**values)
            ).rowcount
        return bool(failed)

    def tallies(self, since: datetime | None = None) -> list[StateTally]:
        """Per kind and state: how many jobs (created since ``since``) and their run times."""
        query = select(
            jobs.c.kind,
            jobs.c.state,
            func.count(),
            func.count(jobs.c.duration_seconds),
            func.coalesce(func.sum(jobs.c.duration_seconds), 0.0),
            func.max(jobs.c.duration_seconds),
        ).group_by(jobs.c.kind, jobs.c.state)
        if since is not None:
            query = query.where(jobs.c.created_at >= since)
        with reading(self._engine) as conn:
            rows = conn.execute(query).all()
        return [
            StateTally(
                kind=kind,
                state=state,
                jobs=int(count),
                timed=int(timed),
                total_seconds=float(total),
                max_seconds=None if longest is None else float(longest),
            )
            for kind, state, count, timed, total, longest in rows
        ]

    def prune(self, done_before: datetime, failed_before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` jobs that finished before their state's cut-off; how many."""
        old = or_(
            and_(jobs.c.state == DONE, jobs.c.finished_at < done_before),
            and_(jobs.c.state == FAILED, jobs.c.finished_at < failed_before),
        )
        with writing(self._engine) as conn:
            batch = select(jobs.c.id).where(old).limit(limit)
            deleted = conn.execute(delete(jobs).where(jobs.c.id.in_(batch))).rowcount
        return int(deleted)

    def recent(self, limit: int = 50) -> list[JobRecord]:
        with reading(self._engine) as conn:
            rows = conn.execute(select(jobs).order_by(jobs.c.id.desc()).limit(limit)).all()
        return [_record(r) for r in rows]

    def get(self, job_id: int) -> JobRecord | None:
        with reading(self._engine) as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return _record(row) if row else None
