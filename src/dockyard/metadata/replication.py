"""Replication's rows: each registry's configuration, each image's status per destination,
and backfills with their items.

Statuses are written by whichever node runs a replication job, so every write is an
upsert decided by the database (``write_retrying``: of two first writes of one row on
PostgreSQL, the loser runs again and updates the winner's row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, insert, select, update

from dockyard.domain.errors import BackfillNotFound
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.replication import (
    PREFIX_MATCH,
    Backfill,
    BackfillItem,
    BackfillStatus,
    Destination,
    DestinationKind,
    ImageReplication,
    ReplicationConfiguration,
    ReplicationRule,
    ReplicationStatus,
    RepositoryFilter,
)
from dockyard.metadata.common import aware, repository_id, require_repository
from dockyard.metadata.database import bytewise, reading, write_retrying, writing
from dockyard.metadata.tables import (
    replication_backfill_items as items,
)
from dockyard.metadata.tables import (
    replication_backfills as backfills,
)
from dockyard.metadata.tables import (
    replication_configurations as configurations,
)
from dockyard.metadata.tables import (
    replication_statuses as statuses,
)
from dockyard.metadata.tables import repositories

_ERROR_TEXT = 4000


# Configurations are stored as the API shapes them, so a stored row reads back exactly.
def rules_document(config: ReplicationConfiguration) -> list[dict[str, Any]]:
    document = []
    for rule in config.rules:
        entry: dict[str, Any] = {
            "destinations": [
                {"region": d.region, "registryId": d.account_id} for d in rule.destinations
            ]
        }
        if rule.filters:
            entry["repositoryFilters"] = [
                {"filter": f.value, "filterType": f.kind} for f in rule.filters
            ]
        document.append(entry)
    return document


def configuration_of(document: Iterable[dict[str, Any]]) -> ReplicationConfiguration:
    return ReplicationConfiguration(
        tuple(
            ReplicationRule(
                tuple(
                    Destination.registry(str(d["registryId"]), str(d["region"]))
                    for d in rule.get("destinations", ())
                ),
                tuple(
                    RepositoryFilter(str(f["filter"]), str(f.get("filterType", PREFIX_MATCH)))
                    for f in rule.get("repositoryFilters") or ()
                ),
            )
            for rule in document
        )
    )


def _destination(row: Any) -> Destination:
    return Destination(
        DestinationKind(row.destination_kind), row.destination_account, row.destination_region
    )


def _replication(row: Any) -> ImageReplication:
    return ImageReplication(
        destination=_destination(row),
        status=ReplicationStatus(row.status),
        failure_code=row.failure_code,
        last_error=row.last_error,
        attempts=int(row.attempts),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _destination_of_id(text: str) -> Destination:
    kind, account, region = text.split(":", 2)
    return Destination(DestinationKind(kind), account, region)


def _status_key(repository: int, digest: str, destination: Destination) -> Any:
    return and_(
        statuses.c.repository_id == repository,
        statuses.c.digest == digest,
        statuses.c.destination == destination.id,
    )


class ReplicationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Configuration -----------------------------------------------------------

    def configuration(self, scope: Scope) -> ReplicationConfiguration:
        with reading(self._engine, single_statement=True) as conn:
            rules = conn.execute(
                select(configurations.c.rules).where(
                    configurations.c.account_id == scope.account_id,
                    configurations.c.region == scope.region,
                )
            ).scalar()
        return configuration_of(rules or [])

    def put_configuration(
        self, scope: Scope, config: ReplicationConfiguration, at: datetime
    ) -> None:
        document = rules_document(config)

        def put(conn: Connection) -> None:
            where = and_(
                configurations.c.account_id == scope.account_id,
                configurations.c.region == scope.region,
            )
            if conn.execute(select(configurations.c.account_id).where(where)).first():
                conn.execute(
                    update(configurations).where(where).values(rules=document, updated_at=at)
                )
            else:
                conn.execute(
                    insert(configurations).values(
                        account_id=scope.account_id,
                        region=scope.region,
                        rules=document,
                        updated_at=at,
                    )
                )

        write_retrying(self._engine, put)

    # Statuses ----------------------------------------------------------------

    def queued(
        self, key: RepositoryKey, digest: str, destinations: Sequence[Destination], at: datetime
    ) -> None:
        """Mark the image IN_PROGRESS at each destination, its runs counted from zero."""

        def mark(conn: Connection) -> None:
            repository = require_repository(conn, key)
            for destination in destinations:
                _upsert(
                    conn,
                    repository,
                    digest,
                    destination,
                    at,
                    status=ReplicationStatus.IN_PROGRESS.value,
                    failure_code=None,
                    last_error=None,
                    attempts=0,
                    completed_at=None,
                )

        write_retrying(self._engine, mark)

    def started(
        self, key: RepositoryKey, digest: str, destination: Destination, at: datetime
    ) -> int:
        """A run begins: IN_PROGRESS, one more run; how many runs since it was queued."""

        def start(conn: Connection) -> int:
            repository = require_repository(conn, key)
            where = _status_key(repository, digest, destination)
            runs = conn.execute(select(statuses.c.attempts).where(where)).scalar()
            attempts = 1 if runs is None else int(runs) + 1
            _upsert(
                conn,
                repository,
                digest,
                destination,
                at,
                status=ReplicationStatus.IN_PROGRESS.value,
                attempts=attempts,
            )
            return attempts

        return write_retrying(self._engine, start)

    def ended(
        self,
        key: RepositoryKey,
        digest: str,
        destination: Destination,
        status: ReplicationStatus,
        failure_code: str | None,
        error: str | None,
        at: datetime,
    ) -> None:
        """Record a run's outcome (an error alone, status IN_PROGRESS: it runs again)."""

        def end(conn: Connection) -> None:
            repository = repository_id(conn, key)
            if repository is None:  # the source repository went meanwhile
                return
            _upsert(
                conn,
                repository,
                digest,
                destination,
                at,
                status=status.value,
                failure_code=failure_code,
                last_error=None if error is None else error[:_ERROR_TEXT],
                completed_at=at if status is ReplicationStatus.COMPLETE else None,
            )

        write_retrying(self._engine, end)

    def statuses(self, key: RepositoryKey, digest: str) -> list[ImageReplication]:
        with reading(self._engine) as conn:
            repository = require_repository(conn, key)
            rows = conn.execute(
                select(statuses)
                .where(statuses.c.repository_id == repository, statuses.c.digest == digest)
                .order_by(statuses.c.destination)
            ).all()
        return [_replication(r) for r in rows]

    def every_status(
        self,
        account_id: str | None,
        region: str | None,
        repository: str | None,
        status: ReplicationStatus | None,
        limit: int,
    ) -> list[tuple[RepositoryKey, str, ImageReplication]]:
        """Statuses across registries (the operator's view), newest change first."""
        query = select(
            statuses, repositories.c.account_id, repositories.c.region, repositories.c.name
        ).join(repositories, repositories.c.id == statuses.c.repository_id)
        if account_id is not None:
            query = query.where(repositories.c.account_id == account_id)
        if region is not None:
            query = query.where(repositories.c.region == region)
        if repository is not None:
            query = query.where(repositories.c.name == repository)
        if status is not None:
            query = query.where(statuses.c.status == status.value)
        query = query.order_by(statuses.c.updated_at.desc(), statuses.c.digest).limit(limit)
        with reading(self._engine) as conn:
            rows = conn.execute(query).all()
        return [
            (
                RepositoryKey(Scope(r.account_id, r.region), RepositoryName.parse(r.name)),
                r.digest,
                _replication(r),
            )
            for r in rows
        ]

    # Backfills ---------------------------------------------------------------

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
                destination=_destination_of_id(r.destination),
                status=ReplicationStatus(r.status),
                failure_code=r.failure_code,
            )
            for r in rows
        ]


def _upsert(
    conn: Connection,
    repository: int,
    digest: str,
    destination: Destination,
    at: datetime,
    **values: Any,
) -> None:
    where = _status_key(repository, digest, destination)
    if conn.execute(select(statuses.c.status).where(where)).first() is not None:
        conn.execute(update(statuses).where(where).values(updated_at=at, **values))
        return
    conn.execute(
        insert(statuses).values(
            repository_id=repository,
            digest=digest,
            destination=destination.id,
            destination_kind=destination.kind.value,
            destination_account=destination.account_id,
            destination_region=destination.region,
            created_at=at,
            updated_at=at,
            **{"attempts": 0, **values},
        )
    )


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
