"""External registries (replication destinations outside the deployment), one row per
(account, region, name). The password is stored as the service sealed it; only
``credentials`` hands the ciphertext back, to the service that opens it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import (
    ExternalRegistryAlreadyExists,
    ExternalRegistryNotFound,
    LimitExceeded,
)
from dockyard.domain.external import ExternalRegistry
from dockyard.domain.records import Scope
from dockyard.metadata.common import aware
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import external_registries as table

QUOTA_NAME = "external registries per registry"


@dataclass(frozen=True, slots=True)
class StoredExternal:
    """A registration as written: its settings and its sealed password (if any)."""

    url: str
    insecure: bool
    username: str | None
    sealed_password: bytes | None = field(repr=False)
    credential_arn: str | None


def _in_registry(scope: Scope) -> ColumnElement[bool]:
    return and_(table.c.account_id == scope.account_id, table.c.region == scope.region)


def _named(scope: Scope, name: str) -> ColumnElement[bool]:
    return and_(_in_registry(scope), table.c.name == name)


def _values(stored: StoredExternal) -> dict[str, Any]:
    return {
        "url": stored.url,
        "insecure": stored.insecure,
        "username": stored.username,
        "password_ciphertext": stored.sealed_password,
        "credential_arn": stored.credential_arn,
    }


def _registry(row: Any) -> ExternalRegistry:
    return ExternalRegistry(
        name=row.name,
        url=row.url,
        insecure=bool(row.insecure),
        username=row.username,
        has_password=row.password_ciphertext is not None,
        credential_arn=row.credential_arn,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class ExternalRegistryStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, scope: Scope, name: str, stored: StoredExternal, at: datetime, quota: int
    ) -> ExternalRegistry:
        """Store a new registration; ExternalRegistryAlreadyExists for a name in use,
        LimitExceeded when the registry holds ``quota`` of them already."""
        try:
            with writing(self._engine) as conn:
                if conn.execute(select(table.c.name).where(_named(scope, name))).first():
                    raise ExternalRegistryAlreadyExists(name, scope.account_id)
                held = conn.execute(
                    select(func.count()).select_from(table).where(_in_registry(scope))
                ).scalar_one()
                if held >= quota:
                    raise LimitExceeded(QUOTA_NAME, quota)
                conn.execute(
                    insert(table).values(
                        account_id=scope.account_id,
                        region=scope.region,
                        name=name,
                        created_at=at,
                        updated_at=at,
                        **_values(stored),
                    )
                )
        except IntegrityError:
            raise ExternalRegistryAlreadyExists(name, scope.account_id) from None
        return self.get(scope, name)

    def replace(
        self, scope: Scope, name: str, stored: StoredExternal, at: datetime
    ) -> ExternalRegistry:
        with writing(self._engine) as conn:
            done = conn.execute(
                update(table).where(_named(scope, name)).values(updated_at=at, **_values(stored))
            ).rowcount
        if not done:
            raise ExternalRegistryNotFound(name, scope.account_id)
        return self.get(scope, name)

    def get(self, scope: Scope, name: str) -> ExternalRegistry:
        return _registry(self._row(scope, name))

    def stored(self, scope: Scope, name: str) -> StoredExternal:
        """The registration with its sealed password, for the service to open."""
        row = self._row(scope, name)
        return StoredExternal(
            row.url, bool(row.insecure), row.username, row.password_ciphertext, row.credential_arn
        )

    def _row(self, scope: Scope, name: str) -> Any:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(select(table).where(_named(scope, name))).first()
        if row is None:
            raise ExternalRegistryNotFound(name, scope.account_id)
        return row

    def delete(self, scope: Scope, name: str) -> ExternalRegistry:
        with writing(self._engine) as conn:
            row = conn.execute(select(table).where(_named(scope, name))).first()
            if row is None:
                raise ExternalRegistryNotFound(name, scope.account_id)
            conn.execute(delete(table).where(_named(scope, name)))
        return _registry(row)

    def list(
        self,
        scope: Scope,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[ExternalRegistry]:
        """The registry's registrations by name (only ``names``, when given)."""
        query = select(table).where(_in_registry(scope)).order_by(bytewise(table.c.name))
        if names is not None:
            query = query.where(table.c.name.in_(list(names)))
        if after is not None:
            query = query.where(bytewise(table.c.name) > after)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine, single_statement=True) as conn:
            return [_registry(row) for row in conn.execute(query)]
