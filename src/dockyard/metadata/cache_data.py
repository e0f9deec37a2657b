"""The pull-through cache's own rows: fetch leases (flights), manifests fetched from an
upstream and not stored yet, when each cached tag was last checked upstream, and per-rule
counters.

A flight is claimed with one conditional write, so of any number of nodes and processes
asking at once exactly one becomes its owner; the others read its row to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata.common import aware, now
from dockyard.metadata.database import _dialect_insert, reading, writing
from dockyard.metadata.tables import cache_flights as f
from dockyard.metadata.tables import cache_manifests as m
from dockyard.metadata.tables import cache_stats as s
from dockyard.metadata.tables import cache_tags as t

__all__ = ["CacheDataStore", "CachedManifest", "FlightRow", "RuleCounters", "TagCheck"]

RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass(frozen=True, slots=True)
class FlightRow:
    name: str
    owner: str
    state: str
    upload_id: str | None
    progress: int
    error: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CachedManifest:
    digest: Digest
    media_type: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class TagCheck:
    digest: Digest
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class RuleCounters:
    scope: Scope
    prefix: str
    hits: int
    misses: int
    upstream_errors: int
    last_error: str | None
    last_error_at: datetime | None


def _flight(row: Any) -> FlightRow:
    return FlightRow(
        row.name,
        row.owner,
        row.state,
        row.upload_id,
        int(row.progress),
        row.error,
        aware(row.expires_at),
    )


def _in_repository(table: Any, key: RepositoryKey) -> ColumnElement[bool]:
    return and_(
        table.c.account_id == key.scope.account_id,
        table.c.region == key.scope.region,
        table.c.repository == key.name.value,
    )


class CacheDataStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- flights ------------------------------------------------------------------------
    def claim(self, name: str, owner: str, lease: timedelta, retake_done: bool) -> FlightRow:
        """The flight ``name``, now ``owner``'s if nobody runs it: no row, a running one
        whose lease expired, a failed one, or (``retake_done``) a finished one. The row
        returned says who won."""
        stamp = now()
        fresh = {
            "owner": owner,
            "state": RUNNING,
            "upload_id": None,
            "progress": 0,
            "error": None,
            "expires_at": stamp + lease,
            "changed_at": stamp,
        }
        takeable = [f.c.state == FAILED, and_(f.c.state == RUNNING, f.c.expires_at < stamp)]
        if retake_done:
            takeable.append(f.c.state == DONE)
        with writing(self._engine) as conn:
            try:
                with conn.begin_nested():
                    conn.execute(f.insert().values(name=name, **fresh))
            except IntegrityError:
                conn.execute(update(f).where(f.c.name == name, or_(*takeable)).values(**fresh))
            row = conn.execute(select(f).where(f.c.name == name)).one()
        return _flight(row)

    def flight(self, name: str) -> FlightRow | None:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(select(f).where(f.c.name == name)).first()
        return None if row is None else _flight(row)

    def advance(
        self, name: str, owner: str, lease: timedelta, progress: int, upload_id: str | None
    ) -> bool:
        """Record the owner's progress and renew its lease; False when it is no longer the
        owner's (its lease expired and another took the flight over)."""
        stamp = now()
        with writing(self._engine) as conn:
            changed = conn.execute(
                update(f)
                .where(f.c.name == name, f.c.owner == owner, f.c.state == RUNNING)
                .values(
                    progress=progress,
                    upload_id=upload_id,
                    expires_at=stamp + lease,
                    changed_at=stamp,
                )
            ).rowcount
        return bool(changed)

    def land(self, name: str, owner: str, error: str | None) -> None:
        """The owner's flight ended: done, or failed with ``error``."""
        with writing(self._engine) as conn:
            conn.execute(
                update(f)
                .where(f.c.name == name, f.c.owner == owner)
                .values(
                    state=DONE if error is None else FAILED,
                    error=None if error is None else error[:1024],
                    changed_at=now(),
                )
            )

    def forget_flights(self, older_than: datetime) -> int:
        """Drop ended flights nobody follows any more."""
        with writing(self._engine) as conn:
            return int(
                conn.execute(
                    delete(f).where(f.c.state != RUNNING, f.c.changed_at < older_than)
                ).rowcount
            )

    # -- fetched manifests --------------------------------------------------------------
    def keep_manifest(self, key: RepositoryKey, manifest: CachedManifest) -> None:
        values = {
            "account_id": key.scope.account_id,
            "region": key.scope.region,
            "repository": key.name.value,
            "digest": str(manifest.digest),
            "media_type": manifest.media_type,
            "payload": manifest.payload,
            "fetched_at": now(),
        }
        with writing(self._engine) as conn:
            insert_ = _dialect_insert(conn, m)
            conn.execute(
                insert_.values(**values).on_conflict_do_nothing(
                    index_elements=[m.c.account_id, m.c.region, m.c.repository, m.c.digest]
                )
            )

    def fetched_manifest(self, key: RepositoryKey, digest: Digest) -> CachedManifest | None:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(
                select(m.c.media_type, m.c.payload).where(
                    _in_repository(m, key), m.c.digest == str(digest)
                )
            ).first()
        return None if row is None else CachedManifest(digest, row.media_type, bytes(row.payload))

    def fetched_manifests(self, key: RepositoryKey) -> list[CachedManifest]:
        with reading(self._engine, single_statement=True) as conn:
            rows = conn.execute(
                select(m.c.digest, m.c.media_type, m.c.payload).where(_in_repository(m, key))
            ).all()
        return [
            CachedManifest(Digest.parse(r.digest), r.media_type, bytes(r.payload)) for r in rows
        ]

    def drop_manifest(self, key: RepositoryKey, digest: Digest) -> None:
        with writing(self._engine) as conn:
            conn.execute(delete(m).where(_in_repository(m, key), m.c.digest == str(digest)))

    # -- tag checks -------------------------------------------------------------------------
    def tag_check(self, key: RepositoryKey, tag: str) -> TagCheck | None:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(
                select(t.c.digest, t.c.checked_at).where(_in_repository(t, key), t.c.tag == tag)
            ).first()
        return None if row is None else TagCheck(Digest.parse(row.digest), aware(row.checked_at))

    def checked_tag(
        self, key: RepositoryKey, tag: str, digest: Digest, at: datetime | None = None
    ) -> None:
        """Record what ``tag`` was upstream, as of ``at`` (now by default)."""
        values = {
            "account_id": key.scope.account_id,
            "region": key.scope.region,
            "repository": key.name.value,
            "tag": tag,
            "digest": str(digest),
            "checked_at": at or now(),
        }
        with writing(self._engine) as conn:
            insert_ = _dialect_insert(conn, t)
            conn.execute(
                insert_.values(**values).on_conflict_do_update(
                    index_elements=[t.c.account_id, t.c.region, t.c.repository, t.c.tag],
                    set_={"digest": values["digest"], "checked_at": values["checked_at"]},
                )
            )

    # -- counters ---------------------------------------------------------------------------
    def count(
        self,
        scope: Scope,
        prefix: str,
        hits: int = 0,
        misses: int = 0,
        errors: int = 0,
        last_error: str | None = None,
    ) -> None:
        stamp = now()
        values: dict[str, Any] = {
            "account_id": scope.account_id,
            "region": scope.region,
            "prefix": prefix,
            "hits": hits,
            "misses": misses,
            "upstream_errors": errors,
            "last_error": None if last_error is None else last_error[:1024],
            "last_error_at": None if last_error is None else stamp,
        }
        changes: dict[str, Any] = {
            "hits": s.c.hits + hits,
            "misses": s.c.misses + misses,
            "upstream_errors": s.c.upstream_errors + errors,
        }
        if last_error is not None:
            changes["last_error"] = values["last_error"]
            changes["last_error_at"] = stamp
        with writing(self._engine) as conn:
            insert_ = _dialect_insert(conn, s)
            conn.execute(
                insert_.values(**values).on_conflict_do_update(
                    index_elements=[s.c.account_id, s.c.region, s.c.prefix], set_=changes
                )
            )

    def counters(self) -> list[RuleCounters]:
        with reading(self._engine, single_statement=True) as conn:
            rows = conn.execute(select(s).order_by(s.c.account_id, s.c.region, s.c.prefix)).all()
        return [
            RuleCounters(
                Scope(r.account_id, r.region),
                r.prefix,
                int(r.hits),
                int(r.misses),
                int(r.upstream_errors),
                r.last_error,
                None if r.last_error_at is None else aware(r.last_error_at),
            )
            for r in rows
        ]
