"""Images as ECR lists and describes them: manifests with their tags and sizes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select, tuple_, update

from dockyard.domain.digests import Digest
from dockyard.domain.records import ImageSummary, RepositoryKey
from dockyard.metadata.common import aware, repository_id, require_repository
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import manifest_references, manifests, tags


class ImageStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def summaries(
        self,
        key: RepositoryKey,
        tagged: bool | None,
        after_id: int | None,
        limit: int,
        digests: Sequence[Digest] | None = None,
        status: str | None = "ACTIVE",
    ) -> tuple[list[tuple[int, ImageSummary]], bool]:
        """Images in push order, paged by manifest id; None (tagged, status) means any."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            query = select(manifests).where(manifests.c.repository_id == rid)
            if status is not None:
                query = query.where(manifests.c.image_status == status)
            has_tag = select(tags.c.name).where(tags.c.manifest_id == manifests.c.id).exists()
            if tagged is True:
                query = query.where(has_tag)
            elif tagged is False:
                query = query.where(~has_tag)
            if digests is not None:
                query = query.where(manifests.c.digest.in_([str(d) for d in digests]))
            if after_id is not None:
                query = query.where(manifests.c.id > after_id)
            rows = conn.execute(query.order_by(manifests.c.id).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            tag_rows = conn.execute(
                select(tags.c.manifest_id, tags.c.name)
                .where(tags.c.manifest_id.in_([r.id for r in rows]))
                .order_by(bytewise(tags.c.name))
            ).all()
        names: dict[int, list[str]] = {}
        for manifest_id, name in tag_rows:
            names.setdefault(manifest_id, []).append(name)
        return [
            (
                r.id,
                ImageSummary(
                    digest=Digest.parse(r.digest),
                    tags=tuple(names.get(r.id, ())),
                    size=int(r.image_size),
                    pushed_at=aware(r.pushed_at),
                    media_type=r.media_type,
                    artifact_media_type=r.config_media_type,
                    last_pulled_at=aware(r.last_pulled_at) if r.last_pulled_at else None,
                    status=r.image_status,
                    archived_at=aware(r.archived_at) if r.archived_at else None,
                    activated_at=aware(r.activated_at) if r.activated_at else None,
                    subject=Digest.parse(r.subject_digest) if r.subject_digest else None,
                ),
            )
            for r in rows
        ], more

    def list_ids(
        self,
        key: RepositoryKey,
        tagged: bool | None,
        after: tuple[int, str] | None,
        limit: int,
        status: str | None = "ACTIVE",
    ) -> tuple[list[tuple[int, Digest, str | None]], bool]:
        """Image ids as ECR lists them, one per tag (an untagged image once), in push order."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            name = bytewise(func.coalesce(tags.c.name, ""))
            query = (
                select(manifests.c.id, manifests.c.digest, tags.c.name)
                .select_from(manifests.outerjoin(tags, tags.c.manifest_id == manifests.c.id))
                .where(manifests.c.repository_id == rid)
            )
            if status is not None:
                query = query.where(manifests.c.image_status == status)
            if tagged is True:
                query = query.where(tags.c.name.is_not(None))
            elif tagged is False:
                query = query.where(tags.c.name.is_(None))
            if after is not None:
                query = query.where(tuple_(manifests.c.id, name) > tuple_(after[0], after[1]))
            rows = conn.execute(query.order_by(manifests.c.id, name).limit(limit + 1)).all()
        found = [(int(r.id), Digest.parse(r.digest), r.name) for r in rows[:limit]]
        return found, len(rows) > limit

    def digest_of_tag(self, key: RepositoryKey, tag: str) -> Digest | None:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            found = conn.execute(
                select(manifests.c.digest)
                .join(tags, tags.c.manifest_id == manifests.c.id)
                .where(tags.c.repository_id == rid, tags.c.name == tag)
            ).scalar()
        return Digest.parse(found) if found else None

    def manifests_naming_blobs(
        self, key: RepositoryKey, digests: Sequence[Digest]
    ) -> dict[Digest, tuple[bytes, str]]:
        """For each blob some manifest of the repository names: the (payload, media type) of
        the first such manifest. Blobs no manifest names yet are left out."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            first = conn.execute(
                select(manifest_references.c.digest, func.min(manifests.c.id))
                .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
                .where(
                    manifests.c.repository_id == rid,
                    manifest_references.c.kind == "blob",
                    manifest_references.c.digest.in_([str(d) for d in digests]),
                )
                .group_by(manifest_references.c.digest)
            ).all()
            wanted = {manifest_id for _, manifest_id in first}
            rows = conn.execute(
                select(manifests.c.id, manifests.c.payload, manifests.c.media_type).where(
                    manifests.c.id.in_(wanted)
                )
            ).all()
        by_id = {r.id: (bytes(r.payload), str(r.media_type)) for r in rows}
        return {
            Digest.parse(digest): by_id[manifest_id]
            for digest, manifest_id in first
            if manifest_id in by_id
        }

    def record_pulls(self, pulls: Mapping[tuple[RepositoryKey, Digest], datetime]) -> None:
        """Write batched pull times; images deleted meanwhile are simply skipped."""
        with writing(self._engine) as conn:
            for (key, digest), when in pulls.items():
                rid = repository_id(conn, key)
                if rid is None:
                    continue
                conn.execute(
                    update(manifests)
                    .where(manifests.c.repository_id == rid, manifests.c.digest == str(digest))
                    .values(last_pulled_at=when)
                )
