"""Replication's rows: each registry's configuration, and each image's status per
destination (backfills are ``backfills.py``'s).

Statuses are written by whichever node runs a replication job, so every write is an
upsert decided by the database (``write_retrying``: of two first writes of one row on
PostgreSQL, the loser runs again and updates the winner's row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update

from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.replication import (
    PREFIX_MATCH,
    WILDCARD,
    Destination,
    ImageReplication,
    ReplicationConfiguration,
    ReplicationRule,
    ReplicationStatus,
    RepositoryFilter,
    TagFilter,
)
from dockyard.metadata.common import aware, repository_id, require_repository
from dockyard.metadata.database import reading, write_retrying
from dockyard.metadata.tables import replication_configurations as configurations
from dockyard.metadata.tables import replication_statuses as statuses
from dockyard.metadata.tables import repositories

_ERROR_TEXT = 4000


# Configurations are stored as the API shapes them, so a stored row reads back exactly.
def _destination_document(d: Destination) -> dict[str, Any]:
    if d.is_external:
        return {"externalRegistry": d.name}
    return {"region": d.region, "registryId": d.account_id}


def rules_document(config: ReplicationConfiguration) -> list[dict[str, Any]]:
    document = []
    for rule in config.rules:
        entry: dict[str, Any] = {
            "destinations": [_destination_document(d) for d in rule.destinations]
        }
        if rule.filters:
            entry["repositoryFilters"] = [
                {"filter": f.value, "filterType": f.kind} for f in rule.filters
            ]
        if rule.tag_filters:
            entry["imageTagFilters"] = [
                {"filter": f.value, "filterType": f.kind} for f in rule.tag_filters
            ]
        if rule.propagate_deletes:
            entry["propagateDeletes"] = True
        document.append(entry)
    return document


def _destination_of(owner: Scope, d: dict[str, Any]) -> Destination:
    if "externalRegistry" in d:
        return Destination.external(owner, str(d["externalRegistry"]))
    return Destination.registry(str(d["registryId"]), str(d["region"]))


def configuration_of(owner: Scope, document: Iterable[dict[str, Any]]) -> ReplicationConfiguration:
    """A stored configuration of the registry ``owner`` (whose external registries its
    external destinations name)."""
    return ReplicationConfiguration(
        tuple(
            ReplicationRule(
                tuple(_destination_of(owner, d) for d in rule.get("destinations", ())),
                tuple(
                    RepositoryFilter(str(f["filter"]), str(f.get("filterType", PREFIX_MATCH)))
                    for f in rule.get("repositoryFilters") or ()
                ),
                tuple(
                    TagFilter(str(f["filter"]), str(f.get("filterType", WILDCARD)))
                    for f in rule.get("imageTagFilters") or ()
                ),
                bool(rule.get("propagateDeletes", False)),
            )
            for rule in document
        )
    )


def _destination(row: Any) -> Destination:
    return Destination.of_id(row.destination)


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
        return configuration_of(scope, rules or [])

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
