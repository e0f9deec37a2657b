"""Repositories and their settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import RepositoryAlreadyExists, RepositoryNotEmpty
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Page, Repository, RepositoryConfig, RepositoryKey, Scope
from dockyard.metadata.common import (
    aware,
    now,
    page,
    repository_id,
    repository_row,
    require_repository,
)
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import (
    lifecycle_policies,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    repository_policies,
    tags,
    uploads,
)


def _to_repository(scope: Scope, row: Any) -> Repository:
    return Repository(
        key=RepositoryKey(scope, RepositoryName(row.name)),
        created_at=aware(row.created_at),
        config=RepositoryConfig(
            mutability=MutabilityRule(
                TagMutability(row.tag_mutability), tuple(row.mutability_filters or ())
            ),
            scan_on_push=bool(row.scan_on_push),
            encryption_type=row.encryption_type,
            kms_key=row.kms_key,
        ),
        tags=dict(row.resource_tags or {}),
    )


def _config_values(config: RepositoryConfig) -> dict[str, Any]:
    return {
        "tag_mutability": config.mutability.mutability.value,
        "mutability_filters": list(config.mutability.filters),
        "scan_on_push": config.scan_on_push,
        "encryption_type": config.encryption_type,
        "kms_key": config.kms_key,
    }


class RepositoryStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        key: RepositoryKey,
        config: RepositoryConfig,
        resource_tags: dict[str, str],
        *,
        repository_policy: str | None = None,
        lifecycle_policy: str | None = None,
    ) -> Repository:
        """A new repository; with the policies given (a creation template's) in the same
        transaction, so that nobody ever sees it without them."""
        try:
            with writing(self._engine) as conn:
                if repository_id(conn, key) is not None:
                    raise RepositoryAlreadyExists(key.name.value, key.scope.account_id)
                created = now()
                inserted = conn.execute(
                    insert(repositories).values(
                        account_id=key.scope.account_id,
                        region=key.scope.region,
                        name=key.name.value,
                        created_at=created,
                        resource_tags=resource_tags,
                        **_config_values(config),
                    )
                )
                assert inserted.inserted_primary_key is not None
                rid = inserted.inserted_primary_key[0]
                if repository_policy is not None:
                    conn.execute(
                        insert(repository_policies).values(
                            repository_id=rid, text=repository_policy, updated_at=created
                        )
                    )
                if lifecycle_policy is not None:
                    conn.execute(
                        insert(lifecycle_policies).values(
                            repository_id=rid, text=lifecycle_policy, updated_at=created
                        )
                    )
        except IntegrityError:
            raise RepositoryAlreadyExists(key.name.value, key.scope.account_id) from None
        return self.get(key)

    def exists(self, key: RepositoryKey) -> bool:
        with reading(self._engine, single_statement=True) as conn:
            return repository_id(conn, key) is not None

    def get(self, key: RepositoryKey) -> Repository:
        with reading(self._engine) as conn:
            row = repository_row(conn, key)
            if row is None:
                require_repository(conn, key)
        return _to_repository(key.scope, row)

    def scopes(self) -> list[Scope]:
        """Every (account, region) that holds a repository."""
        query = (
            select(repositories.c.account_id, repositories.c.region)
            .distinct()
            .order_by(repositories.c.account_id, repositories.c.region)
        )
        with reading(self._engine) as conn:
            return [Scope(account, region) for account, region in conn.execute(query)]

    def list(self, scope: Scope, after: str | None, limit: int | None) -> list[Repository]:
        query = (
            select(repositories)
            .where(repositories.c.account_id == scope.account_id)
            .where(repositories.c.region == scope.region)
            .order_by(bytewise(repositories.c.name))
        )
        if after:
            query = query.where(bytewise(repositories.c.name) > after)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine) as conn:
            return [_to_repository(scope, row) for row in conn.execute(query)]

    def names(self, scope: Scope, last: str | None, limit: int | None) -> Page:
        query = (
            select(repositories.c.name)
            .where(repositories.c.account_id == scope.account_id)
            .where(repositories.c.region == scope.region)
            .order_by(bytewise(repositories.c.name))
        )
        if last:
            query = query.where(bytewise(repositories.c.name) > last)
        return page(self._engine, query, limit)

    def update_config(self, key: RepositoryKey, config: RepositoryConfig) -> Repository:
        with writing(self._engine) as conn:
            conn.execute(
                update(repositories)
                .where(repositories.c.id == require_repository(conn, key))
                .values(**_config_values(config))
            )
        return self.get(key)

    def set_tags(self, key: RepositoryKey, resource_tags: dict[str, str]) -> None:
        with writing(self._engine) as conn:
            conn.execute(
                update(repositories)
                .where(repositories.c.id == require_repository(conn, key))
                .values(resource_tags=resource_tags)
            )

    def delete(self, key: RepositoryKey, force: bool) -> Repository:
        repository = self.get(key)
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            held = conn.execute(
                select(func.count()).select_from(manifests).where(manifests.c.repository_id == rid)
            ).scalar_one()
            if held and not force:
                raise RepositoryNotEmpty(key.name.value, key.scope.account_id)
            ids = select(manifests.c.id).where(manifests.c.repository_id == rid)
            conn.execute(delete(tags).where(tags.c.repository_id == rid))
            conn.execute(
                delete(manifest_references).where(manifest_references.c.manifest_id.in_(ids))
            )
            conn.execute(delete(manifests).where(manifests.c.repository_id == rid))
            conn.execute(delete(repository_blobs).where(repository_blobs.c.repository_id == rid))
            conn.execute(delete(uploads).where(uploads.c.repository_id == rid))
            conn.execute(delete(repositories).where(repositories.c.id == rid))
        return repository
