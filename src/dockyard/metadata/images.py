"""Images as ECR lists and describes them: manifests with their tags and sizes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from dockyard.domain.digests import Digest
from dockyard.domain.records import ImageSummary, RepositoryKey
from dockyard.metadata.common import aware, require_repository
from dockyard.metadata.database import reading
from dockyard.metadata.tables import manifests, tags


class ImageStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(
        self,
        key: RepositoryKey,
        tagged: bool | None,
        after_id: int | None,
        limit: int,
        digests: Sequence[Digest] | None = None,
    ) -> tuple[list[tuple[int, ImageSummary]], bool]:
        """Images in push order, paged by manifest id; ``tagged`` None means any."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            query = select(manifests).where(manifests.c.repository_id == rid)
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
                .order_by(tags.c.name)
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
                ),
            )
            for r in rows
        ], more

    def digest_of_tag(self, key: RepositoryKey, tag: str) -> Digest | None:
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            found = conn.execute(
                select(manifests.c.digest)
                .join(tags, tags.c.manifest_id == manifests.c.id)
                .where(tags.c.repository_id == rid, tags.c.name == tag)
            ).scalar()
        return Digest.parse(found) if found else None
