"""Resource policies: one per repository (SetRepositoryPolicy), one per registry.

The authorizer reads a repository's policy and resource tags together, in one indexed
query, because it needs both for every request that names the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, delete, select

from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata.common import aware, in_repository, now, require_repository
from dockyard.metadata.database import reading, upsert, writing
from dockyard.metadata.tables import registry_policies, repositories, repository_policies


@dataclass(frozen=True, slots=True)
class PolicyText:
    text: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    """What authorization needs to know about a repository."""

    policy: PolicyText | None
    tags: dict[str, str] = field(default_factory=dict)


class PolicyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Repository policies -------------------------------------------------

    def repository_facts(self, key: RepositoryKey) -> RepositoryFacts | None:
        """The repository's policy and tags; None when there is no such repository."""
        query = (
            select(
                repositories.c.resource_tags,
                repository_policies.c.text,
                repository_policies.c.updated_at,
            )
            .select_from(
                repositories.outerjoin(
                    repository_policies,
                    repository_policies.c.repository_id == repositories.c.id,
                )
            )
            .where(in_repository(key))
        )
        with reading(self._engine) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        policy = None if row.text is None else PolicyText(row.text, aware(row.updated_at))
        return RepositoryFacts(policy, dict(row.resource_tags or {}))

    def repository_policy(self, key: RepositoryKey) -> PolicyText | None:
        """The repository's policy; NameUnknown when there is no such repository."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            row = conn.execute(
                select(repository_policies).where(repository_policies.c.repository_id == rid)
            ).first()
        return None if row is None else PolicyText(row.text, aware(row.updated_at))

    def set_repository_policy(self, key: RepositoryKey, text: str) -> PolicyText:
        stored = PolicyText(text, now())
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            row = {"repository_id": rid, "text": text, "updated_at": stored.updated_at}
            upsert(conn, repository_policies, row, ["repository_id"])
        return stored

    def delete_repository_policy(self, key: RepositoryKey) -> PolicyText | None:
        """The policy deleted; None when the repository had none."""
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            row = conn.execute(
                select(repository_policies).where(repository_policies.c.repository_id == rid)
            ).first()
            if row is None:
                return None
            conn.execute(
                delete(repository_policies).where(repository_policies.c.repository_id == rid)
            )
        return PolicyText(row.text, aware(row.updated_at))

    # Registry policies ---------------------------------------------------

    def registry_policy(self, scope: Scope) -> PolicyText | None:
        with reading(self._engine) as conn:
            row = conn.execute(select(registry_policies).where(_in_registry(scope))).first()
        return None if row is None else PolicyText(row.text, aware(row.updated_at))

    def put_registry_policy(self, scope: Scope, text: str) -> PolicyText:
        stored = PolicyText(text, now())
        row = {
            "account_id": scope.account_id,
            "region": scope.region,
            "text": text,
            "updated_at": stored.updated_at,
        }
        with writing(self._engine) as conn:
            upsert(conn, registry_policies, row, ["account_id", "region"])
        return stored

    def delete_registry_policy(self, scope: Scope) -> PolicyText | None:
        with writing(self._engine) as conn:
            row = conn.execute(select(registry_policies).where(_in_registry(scope))).first()
            if row is None:
                return None
            conn.execute(delete(registry_policies).where(_in_registry(scope)))
        return PolicyText(row.text, aware(row.updated_at))


def _in_registry(scope: Scope) -> ColumnElement[bool]:
    return and_(
        registry_policies.c.account_id == scope.account_id,
        registry_policies.c.region == scope.region,
    )
