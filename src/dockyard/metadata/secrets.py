"""Secrets Manager's secrets and their labelled versions, per (account, region).

Values arrive sealed (the service seals them with the node's secrets key) and leave sealed:
this store never sees a secret in the clear. A secret scheduled for deletion whose date has
passed is gone: no read finds it, and a create of its name removes it first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import (
    SecretAlreadyExists,
    SecretMarkedForDeletion,
    SecretNotFound,
    SecretRequestInvalid,
)
from dockyard.domain.records import Scope
from dockyard.domain.secrets import (
    CURRENT,
    SUFFIX_LENGTH,
    SecretRecord,
    SecretRef,
    SecretVersion,
    restage,
    secret_arn,
)
from dockyard.metadata.common import aware
from dockyard.metadata.database import reading, writing
from dockyard.metadata.tables import secret_versions as sv
from dockyard.metadata.tables import secrets as st


@dataclass(frozen=True, slots=True)
class SealedVersion:
    """A version to store: its value sealed (``binary``: it was SecretBinary)."""

    version_id: str
    binary: bool
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"SealedVersion({self.version_id!r}, binary={self.binary})"


#: Whether a stored version (binary flag, ciphertext) holds the same value as the new one:
#: a retried PutSecretValue is a no-op, a different value under a used VersionId an error.
SameValue = Callable[[bool, bytes], bool]
#: A change of a secret's labels (each version's, by id) or of its tags, made under its lock.
Relabel = Callable[[dict[str, tuple[str, ...]]], Mapping[str, Sequence[str]]]
Retag = Callable[[tuple[tuple[str, str], ...]], Sequence[tuple[str, str]]]


def _in_registry(scope: Scope) -> ColumnElement[bool]:
    return and_(st.c.account_id == scope.account_id, st.c.region == scope.region)


def _live(now: datetime) -> ColumnElement[bool]:
    """Not gone: never scheduled for deletion, or scheduled for a date still to come."""
    return or_(st.c.deletion_date.is_(None), st.c.deletion_date > now)


def _matching(scope: Scope, ref: SecretRef) -> ColumnElement[bool] | None:
    """The rows ``ref`` may name in ``scope``; None when it names another registry's."""
    if not ref.is_arn:
        return and_(_in_registry(scope), st.c.name == ref.text)
    if ref.scope != scope or ref.resource is None:
        return None
    resource = ref.resource
    by_name = st.c.name == resource  # an ARN without its suffix
    if len(resource) > SUFFIX_LENGTH + 1 and resource[-SUFFIX_LENGTH - 1] == "-":
        full = and_(
            st.c.name == resource[: -SUFFIX_LENGTH - 1],
            st.c.suffix == resource[-SUFFIX_LENGTH:],
        )
        return and_(_in_registry(scope), or_(full, by_name))
    return and_(_in_registry(scope), by_name)


def _locked(
    conn: Connection, scope: Scope, name: str, at: datetime, *, scheduled: bool = False
) -> Any:
    """The secret's row, locked until the transaction ends: SecretNotFound once it is gone,
    SecretMarkedForDeletion while it waits to go unless ``scheduled`` allows that."""
    row = conn.execute(
        select(st).where(_in_registry(scope), st.c.name == name).with_for_update()
    ).first()
    if row is None or (row.deletion_date is not None and aware(row.deletion_date) <= at):
        raise SecretNotFound(name)
    if row.deletion_date is not None and not scheduled:
        raise SecretMarkedForDeletion(name)
    return row


class SecretStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Reads -----------------------------------------------------------------

    def find(self, scope: Scope, ref: SecretRef, now: datetime) -> SecretRecord | None:
        """The live secret ``ref`` names in ``scope`` (a name, a full or a partial ARN)."""
        where = _matching(scope, ref)
        if where is None:
            return None
        with reading(self._engine) as conn:
            rows = conn.execute(select(st).where(where, _live(now))).all()
            if not rows:
                return None
            # A full ARN beats a name that happens to equal it without the suffix.
            row = min(rows, key=lambda r: 0 if _arn_of(r) == ref.text else 1)
            return _record(row, _versions(conn, row.id))

    def sealed_value(self, scope: Scope, name: str, version_id: str) -> tuple[bool, bytes]:
        """(binary, ciphertext) of a version; SecretNotFound if it went meanwhile."""
        query = (
            select(sv.c.binary, sv.c.value_ciphertext)
            .join(st, st.c.id == sv.c.secret_id)
            .where(_in_registry(scope), st.c.name == name, sv.c.version_id == version_id)
        )
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(query).first()
        if row is None:
            raise SecretNotFound(version_id, "secret version")
        return bool(row.binary), bytes(row.value_ciphertext)

    def list(self, scope: Scope, now: datetime, include_deleted: bool) -> list[SecretRecord]:
        """Every live secret of the registry, by creation time; those scheduled for deletion
        only when ``include_deleted``."""
        query = select(st).where(_in_registry(scope), _live(now))
        if not include_deleted:
            query = query.where(st.c.deletion_date.is_(None))
        with reading(self._engine) as conn:
            rows = conn.execute(query.order_by(st.c.created_at, st.c.id)).all()
            versions = _all_versions(conn, [row.id for row in rows])
        return [_record(row, versions.get(row.id, ())) for row in rows]

    # Writes ----------------------------------------------------------------

    def create(
        self,
        scope: Scope,
        name: str,
        suffix: str,
        description: str | None,
        kms_key_id: str | None,
        tags: Sequence[tuple[str, str]],
        at: datetime,
        version: SealedVersion | None,
    ) -> SecretRecord:
        """A new secret, with its first version (labelled AWSCURRENT) when given."""
        try:
            with writing(self._engine) as conn:
                found = conn.execute(
                    select(st.c.id, st.c.deletion_date).where(
                        _in_registry(scope), st.c.name == name
                    )
                ).first()
                if found is not None:
                    if found.deletion_date is None:
                        raise SecretAlreadyExists(name)
                    if aware(found.deletion_date) > at:
                        raise SecretRequestInvalid(
                            f"A secret named '{name}' is scheduled for deletion; its name "
                            "is free once it is gone"
                        )
                    # Its recovery window has passed: it is gone, and goes now.
                    conn.execute(delete(st).where(st.c.id == found.id))
                secret_id = conn.execute(
                    insert(st)
                    .values(
                        account_id=scope.account_id,
                        region=scope.region,
                        name=name,
                        suffix=suffix,
                        description=description,
                        kms_key_id=kms_key_id,
                        tags=[list(pair) for pair in tags],
                        created_at=at,
                        changed_at=at,
                        deletion_date=None,
                    )
                    .returning(st.c.id)
                ).scalar_one()
                if version is not None:
                    _insert_version(conn, secret_id, version, (CURRENT,), at)
                row = conn.execute(select(st).where(st.c.id == secret_id)).one()
                return _record(row, _versions(conn, secret_id))
        except IntegrityError:
            raise SecretAlreadyExists(name) from None

    def put_version(
        self,
        scope: Scope,
        name: str,
        version: SealedVersion,
        stages: Sequence[str],
        at: datetime,
        same: SameValue,
    ) -> tuple[SecretRecord, SecretVersion]:
        """Add ``version`` with ``stages`` (moving them off other versions), or, for a
        VersionId already stored with the same value, change nothing."""
        with writing(self._engine) as conn:
            # The secret's row is locked: two puts at once must not both keep AWSCURRENT.
            row = _locked(conn, scope, name, at)
            held = conn.execute(
                select(sv.c.binary, sv.c.value_ciphertext).where(
                    sv.c.secret_id == row.id, sv.c.version_id == version.version_id
                )
            ).first()
            if held is not None:
                if not same(bool(held.binary), bytes(held.value_ciphertext)):
                    raise SecretAlreadyExists(
                        name,
                        f"Version {version.version_id} of the secret '{name}' holds another "
                        "value; a version never changes: put the new value under a new "
                        "ClientRequestToken",
                    )
            else:
                _insert_version(conn, row.id, version, (), at)
            labels = {v.version_id: v.stages for v in _versions(conn, row.id)}
            _relabel(conn, row.id, restage(labels, version.version_id, stages))
            if held is None:
                conn.execute(update(st).where(st.c.id == row.id).values(changed_at=at))
            fresh = conn.execute(select(st).where(st.c.id == row.id)).one()
            record = _record(fresh, _versions(conn, row.id))
        stored = record.version(version.version_id)
        assert stored is not None
        return record, stored

    def schedule_deletion(self, scope: Scope, name: str, date: datetime, at: datetime) -> None:
        """Mark the live secret ``name`` to go at ``date``; SecretMarkedForDeletion if it is
        already marked."""
        with writing(self._engine) as conn:
            row = _locked(conn, scope, name, at)
            conn.execute(
                update(st).where(st.c.id == row.id).values(deletion_date=date, changed_at=at)
            )

    def cancel_deletion(self, scope: Scope, name: str, at: datetime) -> None:
        """Take the secret ``name`` off its deletion schedule (nothing if it is not on one);
        SecretNotFound once its date has passed."""
        with writing(self._engine) as conn:
            row = _locked(conn, scope, name, at, scheduled=True)
            if row.deletion_date is not None:
                conn.execute(
                    update(st).where(st.c.id == row.id).values(deletion_date=None, changed_at=at)
                )

    def update_details(
        self, scope: Scope, name: str, changes: Mapping[str, str | None], at: datetime
    ) -> None:
        """Set the live secret's ``description`` and/or ``kms_key_id``."""
        unknown = set(changes) - {"description", "kms_key_id"}
        if unknown:
            raise ValueError(f"not a secret's detail: {sorted(unknown)}")
        with writing(self._engine) as conn:
            row = _locked(conn, scope, name, at)
            conn.execute(update(st).where(st.c.id == row.id).values(**changes, changed_at=at))

    def relabel(self, scope: Scope, name: str, change: Relabel, at: datetime) -> None:
        """Give the live secret's versions the labels ``change`` makes of their labels now
        (under the secret's lock, so no other change of labels comes between)."""
        with writing(self._engine) as conn:
            row = _locked(conn, scope, name, at)
            labels = {v.version_id: v.stages for v in _versions(conn, row.id)}
            _relabel(conn, row.id, change(labels))
            conn.execute(update(st).where(st.c.id == row.id).values(changed_at=at))

    def retag(self, scope: Scope, name: str, change: Retag, at: datetime) -> None:
        """Give the live secret the tags ``change`` makes of its tags now."""
        with writing(self._engine) as conn:
            row = _locked(conn, scope, name, at)
            tags = change(tuple((str(k), str(v)) for k, v in row.tags))
            conn.execute(
                update(st)
                .where(st.c.id == row.id)
                .values(tags=[list(pair) for pair in tags], changed_at=at)
            )

    def purge(self, scope: Scope, name: str) -> bool:
        """Remove the secret ``name`` and its versions at once; whether there was one."""
        with writing(self._engine) as conn:
            done = conn.execute(delete(st).where(_in_registry(scope), st.c.name == name))
        return bool(done.rowcount)


def _insert_version(
    conn: Connection, secret_id: int, version: SealedVersion, stages: Sequence[str], at: datetime
) -> None:
    conn.execute(
        insert(sv).values(
            secret_id=secret_id,
            version_id=version.version_id,
            stages=list(stages),
            binary=version.binary,
            value_ciphertext=version.ciphertext,
            created_at=at,
        )
    )


def _relabel(conn: Connection, secret_id: int, labels: Mapping[str, Sequence[str]]) -> None:
    """Give each version its labels; a version left with none is dropped."""
    stored = conn.execute(
        select(sv.c.version_id, sv.c.stages).where(sv.c.secret_id == secret_id)
    ).all()
    for row in stored:
        wanted = labels.get(row.version_id)
        mine = and_(sv.c.secret_id == secret_id, sv.c.version_id == row.version_id)
        if not wanted:
            conn.execute(delete(sv).where(mine))
        elif tuple(row.stages) != tuple(wanted):
            conn.execute(update(sv).where(mine).values(stages=list(wanted)))


def _arn_of(row: Any) -> str:
    return secret_arn(Scope(row.account_id, row.region), row.name, row.suffix)


def _version(row: Any) -> SecretVersion:
    return SecretVersion(row.version_id, tuple(row.stages), aware(row.created_at))


def _versions(conn: Connection, secret_id: int) -> tuple[SecretVersion, ...]:
    query = (
        select(sv.c.version_id, sv.c.stages, sv.c.created_at)
        .where(sv.c.secret_id == secret_id)
        .order_by(sv.c.created_at, sv.c.version_id)
    )
    return tuple(_version(row) for row in conn.execute(query))


def _all_versions(conn: Connection, ids: list[int]) -> dict[int, tuple[SecretVersion, ...]]:
    found: dict[int, list[SecretVersion]] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = (
            select(sv.c.secret_id, sv.c.version_id, sv.c.stages, sv.c.created_at)
            .where(sv.c.secret_id.in_(ids[start : start + 500]))
            .order_by(sv.c.created_at, sv.c.version_id)
        )
        for row in conn.execute(query):
            found.setdefault(row.secret_id, []).append(_version(row))
    return {key: tuple(value) for key, value in found.items()}


def _record(row: Any, versions: tuple[SecretVersion, ...]) -> SecretRecord:
    return SecretRecord(
        name=row.name,
        arn=_arn_of(row),
        description=row.description,
        kms_key_id=row.kms_key_id,
        tags=tuple((str(k), str(v)) for k, v in row.tags or ()),
        created_at=aware(row.created_at),
        changed_at=aware(row.changed_at),
        deletion_date=None if row.deletion_date is None else aware(row.deletion_date),
        versions=versions,
    )
