"""Lifecycle policies, previews, the record of lifecycle actions, and image storage classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from dockyard.domain.digests import Digest
from dockyard.domain.errors import ManifestUnknown
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata.common import aware, require_repository
from dockyard.metadata.database import bytewise, insert_or_ignore, reading, upsert, writing
from dockyard.metadata.tables import (
    lifecycle_actions,
    lifecycle_policies,
    lifecycle_previews,
    manifest_references,
    manifests,
    pull_time_exclusions,
    repositories,
    tags,
)


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    text: str
    last_evaluated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What lifecycle evaluation needs to know about one image."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    last_pulled_at: datetime | None
    status: str
    archived_at: datetime | None
    activated_at: datetime | None
    parents: tuple[str, ...]
    subject: str | None


@dataclass(frozen=True, slots=True)
class StoredPreview:
    status: str
    policy_text: str
    results: list[dict[str, Any]]


class LifecycleStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put_policy(self, key: RepositoryKey, text: str, now: datetime) -> None:
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            row = {"repository_id": rid, "text": text, "updated_at": now}
            upsert(conn, lifecycle_policies, row, ["repository_id"])

    def get_policy(self, key: RepositoryKey) -> StoredPolicy | None:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            row = conn.execute(
                select(lifecycle_policies.c.text, lifecycle_policies.c.last_evaluated_at).where(
                    lifecycle_policies.c.repository_id == rid
                )
            ).first()
        if row is None:
            return None
        evaluated = aware(row.last_evaluated_at) if row.last_evaluated_at else None
        return StoredPolicy(row.text, evaluated)

    def delete_policy(self, key: RepositoryKey) -> StoredPolicy | None:
        found = self.get_policy(key)
        if found is not None:
            with writing(self._engine) as conn:
                rid = require_repository(conn, key)
                conn.execute(
                    delete(lifecycle_policies).where(lifecycle_policies.c.repository_id == rid)
                )
        return found

    def mark_evaluated(self, key: RepositoryKey, now: datetime) -> None:
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            conn.execute(
                update(lifecycle_policies)
                .where(lifecycle_policies.c.repository_id == rid)
                .values(last_evaluated_at=now)
            )

    def repositories_with_policies(self) -> list[RepositoryKey]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(repositories.c.account_id, repositories.c.region, repositories.c.name)
                .join(lifecycle_policies, lifecycle_policies.c.repository_id == repositories.c.id)
                .order_by(repositories.c.account_id, bytewise(repositories.c.name))
            ).all()
        return [RepositoryKey(Scope(a, r), RepositoryName(n)) for a, r, n in rows]

    def images(self, key: RepositoryKey) -> list[ImageFacts]:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            rows = conn.execute(select(manifests).where(manifests.c.repository_id == rid)).all()
            tag_rows = conn.execute(
                select(tags.c.manifest_id, tags.c.name).where(tags.c.repository_id == rid)
            ).all()
            child_rows = conn.execute(
                select(manifest_references.c.digest, manifests.c.digest.label("parent"))
                .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
                .where(manifests.c.repository_id == rid, manifest_references.c.kind == "manifest")
            ).all()
        names: dict[int, list[str]] = {}
        for manifest_id, name in tag_rows:
            names.setdefault(manifest_id, []).append(name)
        parents: dict[str, list[str]] = {}
        for child, parent in child_rows:
            parents.setdefault(child, []).append(parent)
        return [
            ImageFacts(
                digest=r.digest,
                tags=tuple(sorted(names.get(r.id, ()))),
                pushed_at=aware(r.pushed_at),
                last_pulled_at=aware(r.last_pulled_at) if r.last_pulled_at else None,
                status=r.image_status,
                archived_at=aware(r.archived_at) if r.archived_at else None,
                activated_at=aware(r.activated_at) if r.activated_at else None,
                parents=tuple(parents.get(r.digest, ())),
                subject=r.subject_digest,
            )
            for r in rows
        ]

    def set_status(self, key: RepositoryKey, digest: Digest, status: str, now: datetime) -> None:
        values: dict[str, Any] = {"image_status": status}
        if status == "ARCHIVED":
            values["archived_at"] = now
        elif status == "ACTIVATING":
            values["activated_at"] = now
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            changed = conn.execute(
                update(manifests)
                .where(manifests.c.repository_id == rid, manifests.c.digest == str(digest))
                .values(**values)
            ).rowcount
            if not changed:
                raise ManifestUnknown(str(digest))

    def save_preview(self, key: RepositoryKey, preview: StoredPreview, now: datetime) -> None:
        with writing(self._engine) as conn:
            rid = require_repository(conn, key)
            row = {
                "repository_id": rid,
                "status": preview.status,
                "policy_text": preview.policy_text,
                "results": preview.results,
                "created_at": now,
            }
            upsert(conn, lifecycle_previews, row, ["repository_id"])

    def get_preview(self, key: RepositoryKey) -> StoredPreview | None:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            row = conn.execute(
                select(lifecycle_previews).where(lifecycle_previews.c.repository_id == rid)
            ).first()
        return StoredPreview(row.status, row.policy_text, list(row.results)) if row else None

    def record_actions(
        self, run_id: str, key: RepositoryKey, actions: Sequence[dict[str, Any]], now: datetime
    ) -> None:
        if not actions:
            return
        with writing(self._engine) as conn:
            conn.execute(
                insert(lifecycle_actions),
                [
                    {
                        "run_id": run_id,
                        "account_id": key.scope.account_id,
                        "region": key.scope.region,
                        "repository": key.name.value,
                        "at": now,
                        **action,
                    }
                    for action in actions
                ],
            )

    def actions(
        self, limit: int, account_id: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(lifecycle_actions).order_by(lifecycle_actions.c.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(lifecycle_actions.c.account_id == account_id)
        if region is not None:
            query = query.where(lifecycle_actions.c.region == region)
        with reading(self._engine) as conn:
            rows = conn.execute(query).all()
        return [dict(r._mapping) for r in rows]

    # Pull-time update exclusions --------------------------------------------

    def exclusions(self, scope: Scope) -> list[tuple[str, datetime]]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(pull_time_exclusions.c.principal_arn, pull_time_exclusions.c.created_at)
                .where(
                    pull_time_exclusions.c.account_id == scope.account_id,
                    pull_time_exclusions.c.region == scope.region,
                )
                .order_by(bytewise(pull_time_exclusions.c.principal_arn))
            ).all()
        return [(r.principal_arn, aware(r.created_at)) for r in rows]

    def add_exclusion(self, scope: Scope, arn: str, now: datetime) -> bool:
        row = {
            "account_id": scope.account_id,
            "region": scope.region,
            "principal_arn": arn,
            "created_at": now,
        }
        with writing(self._engine) as conn:
            return insert_or_ignore(
                conn, pull_time_exclusions, row, ["account_id", "region", "principal_arn"]
            )

    def remove_exclusion(self, scope: Scope, arn: str) -> bool:
        with writing(self._engine) as conn:
            return bool(
                conn.execute(
                    delete(pull_time_exclusions).where(
                        pull_time_exclusions.c.account_id == scope.account_id,
                        pull_time_exclusions.c.region == scope.region,
                        pull_time_exclusions.c.principal_arn == arn,
                    )
                ).rowcount
            )

    def all_excluded(self) -> set[tuple[str, str, str]]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(
                    pull_time_exclusions.c.account_id,
                    pull_time_exclusions.c.region,
                    pull_time_exclusions.c.principal_arn,
                )
            ).all()
        return {(a, r, p) for a, r, p in rows}
