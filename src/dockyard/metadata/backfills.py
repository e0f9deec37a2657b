"""Backfills' rows (a Dockyard extension): one per backfill, and one item per image and
destination its walk queued, holding that replication's outcome for the backfill's
results. An item's outcome is the backfill's own record: the image's status at the
destination (``replication_statuses``) may move on after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, insert, select, update

from dockyard.domain.errors import BackfillNotFound
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope
from dockyard.domain.replication import (
    Backfill,
    BackfillItem,
    BackfillStatus,
    Destination,
    ReplicationStatus,
    RepositoryFilter,
)
from dockyard.metadata.common import aware
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import replication_backfill_items as items
from dockyard.metadata.tables import replication_backfills as backfills


class BackfillStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_backfill(
        self,
        backfill_id: str,
        scope: Scope,
        repository: RepositoryName | None,
        filters: Sequence[RepositoryFilter],
        at: datetime,
    ) -> None:
        with writing(self._engine) as conn:
            conn.execute(
                insert(backfills).values(
                    id=backfill_id,
                    account_id=scope.account_id,
                    region=scope.region,
                    repository=None if repository is None else repository.value,
                    filters=[{"filter": f.value, "filterType": f.kind} for f in filters],
                    walked=False,
                    stopped=False,
                    created_at=at,
                    updated_at=at,
                )
            )

    def add_items(
        self,
        backfill_id: str,
        found: Sequence[tuple[RepositoryName, str, Destination]],
        at: datetime,
    ) -> int:
        """Record items queued by the walk (each once); how many were new."""
        added = 0
        with writing(self._engine) as conn:
            for name, digest, destination in found:
                where = and_(
                    items.c.backfill_id == backfill_id,
                    items.c.repository == name.value,
                    items.c.digest == digest,
                    items.c.destination == destination.id,
                )
                if conn.execute(select(items.c.status).where(where)).first() is not None:
                    continue
                conn.execute(
                    insert(items).values(
                        backfill_id=backfill_id,
                        repository=name.value,
                        digest=digest,
                        destination=destination.id,
                        status=ReplicationStatus.IN_PROGRESS.value,
                        updated_at=at,
                    )
                )
                added += 1
        return added

    def item_ended(
        self,
        backfill_id: str,
        name: RepositoryName,
        digest: str,
        destination: Destination,
        status: ReplicationStatus,
        failure_code: str | None,
        at: datetime,
    ) -> None:
        with writing(self._engine) as conn:
            conn.execute(
                update(items)
                .where(
                    items.c.backfill_id == backfill_id,
                    items.c.repository == name.value,
                    items.c.digest == digest,
                    items.c.destination == destination.id,
                )
                .values(status=status.value, failure_code=failure_code, updated_at=at)
            )

    def walked(self, backfill_id: str, at: datetime) -> None:
        with writing(self._engine) as conn:
            conn.execute(
                update(backfills)
                .where(backfills.c.id == backfill_id)
                .values(walked=True, updated_at=at)
            )

    def stop(self, scope: Scope, backfill_id: str, at: datetime) -> Backfill:
        """Stop a backfill (nothing more is queued; queued items that have not run are
        not run); stopping a finished or stopped one changes nothing."""
        with writing(self._engine) as conn:
            current = _backfill(conn, scope, backfill_id)
            if current.status is BackfillStatus.IN_PROGRESS:
                conn.execute(
                    update(backfills)
                    .where(backfills.c.id == backfill_id)
                    .values(stopped=True, updated_at=at)
                )
        return self.backfill(scope, backfill_id)

    def is_stopped(self, backfill_id: str) -> bool:
        with reading(self._engine, single_statement=True) as conn:
            return bool(
                conn.execute(
                    select(backfills.c.stopped).where(backfills.c.id == backfill_id)
                ).scalar()
            )

    def backfill(self, scope: Scope, backfill_id: str) -> Backfill:
        with reading(self._engine) as conn:
            return _backfill(conn, scope, backfill_id)

    def backfills(self, scope: Scope, after: str | None, limit: int) -> list[Backfill]:
        """The registry's backfills, newest first (by creation, then id), after the one
        named ``after``."""
        with reading(self._engine) as conn:
            query = (
                select(backfills.c.id, backfills.c.created_at)
                .where(
                    backfills.c.account_id == scope.account_id,
                    backfills.c.region == scope.region,
                )
                .order_by(backfills.c.created_at.desc(), backfills.c.id.desc())
            )
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            if after is not None:
                ids = ids[ids.index(after) + 1 :] if after in ids else []
            return [_backfill(conn, scope, i) for i in ids[:limit]]

    def items(self, scope: Scope, backfill_id: str, offset: int, limit: int) -> list[BackfillItem]:
        """A page of a backfill's items in name, digest and destination order (items are
        only ever added, and before any page is asked for once the walk is done)."""
        with reading(self._engine) as conn:
            _backfill(conn, scope, backfill_id)
            rows = conn.execute(
                select(items)
                .where(items.c.backfill_id == backfill_id)
                .order_by(
                    bytewise(items.c.repository),
                    bytewise(items.c.digest),
                    bytewise(items.c.destination),
                )
                .offset(offset)
                .limit(limit)
            ).all()
        return [
            BackfillItem(
                repository=RepositoryName.parse(r.repository),
                digest=r.digest,
                destination=Destination.of_id(r.destination),
                status=ReplicationStatus(r.status),
                failure_code=r.failure_code,
            )
            for r in rows
        ]


def _backfill(conn: Connection, scope: Scope, backfill_id: str) -> Backfill:
    row = conn.execute(
        select(backfills).where(
            backfills.c.id == backfill_id,
            backfills.c.account_id == scope.account_id,
            backfills.c.region == scope.region,
        )
    ).first()
    if row is None:
        raise BackfillNotFound(backfill_id, scope.account_id)
    progress = statuses_tally(conn, backfill_id)
    queued, pending, completed, failed, last = progress
    if row.stopped:
        status = BackfillStatus.STOPPED
    elif not row.walked or pending:
        status = BackfillStatus.IN_PROGRESS
    else:
        status = BackfillStatus.COMPLETE
    finished = None
    if status is not BackfillStatus.IN_PROGRESS:
        finished = max(aware(row.updated_at), last) if last is not None else aware(row.updated_at)
    name = row.repository
    return Backfill(
        id=row.id,
        scope=scope,
        repository=None if name is None else RepositoryName.parse(name),
        filters=tuple(
            RepositoryFilter(str(f["filter"]), str(f["filterType"])) for f in row.filters or ()
        ),
        status=status,
        created_at=aware(row.created_at),
        finished_at=finished,
        queued=queued,
        completed=completed,
        failed=failed,
    )


def statuses_tally(
    conn: Connection, backfill_id: str
) -> tuple[int, int, int, int, datetime | None]:
    """(items, in progress, complete, failed, last change) of one backfill."""

    def count(status: ReplicationStatus) -> Any:
        return func.coalesce(func.sum(case((items.c.status == status.value, 1), else_=0)), 0)

    row = conn.execute(
        select(
            func.count(),
            count(ReplicationStatus.IN_PROGRESS),
            count(ReplicationStatus.COMPLETE),
            count(ReplicationStatus.FAILED),
            func.max(items.c.updated_at),
        ).where(items.c.backfill_id == backfill_id)
    ).one()
    total, pending, completed, failed, last = row
    return int(total), int(pending), int(completed), int(failed), aware(last) if last else None
