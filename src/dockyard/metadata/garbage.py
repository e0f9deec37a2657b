"""Queries for garbage collection: what nothing references any more.

A repository's hold on a blob (a link) goes stale when no manifest of that
repository references the blob and the link is older than the grace period. A
blob with no links is marked (``doomed_at``); any new link clears the mark; a
blob marked longer than the grace period is swept: its row and its bytes go in
one write transaction, so a writer that links it concurrently either comes
first (and GC keeps it) or after (and sees the bytes gone, see uploads.py).

Each destructive step decides on what it reads, so it excludes the writers that make
references (links, manifests) for its transaction (``exclude_writers``): on PostgreSQL
they run concurrently otherwise, and a reference committed after the step's snapshot
would be missed. On SQLite its one writer at a time does the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Exists, and_, delete, exists, func, or_, select, update

from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryKey
from dockyard.metadata.common import require_repository
from dockyard.metadata.database import exclude_writers, reading, writing
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repository_blobs,
    uploads,
)


@dataclass(frozen=True, slots=True)
class Freeable:
    stale_links: int
    blobs: list[tuple[Digest, int]]


def _referenced_in_repository() -> Exists:
    """A manifest of the link's repository names the linked blob."""
    return (
        select(manifest_references.c.digest)
        .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
        .where(
            manifests.c.repository_id == repository_blobs.c.repository_id,
            manifest_references.c.digest == repository_blobs.c.digest,
            manifest_references.c.kind == "blob",
        )
        .exists()
    )


class GarbageStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def expired_uploads(self, cutoff: datetime) -> list[str]:
        with reading(self._engine) as conn:
            return [
                str(u)
                for u in conn.execute(
                    select(uploads.c.id).where(uploads.c.updated_at < cutoff)
                ).scalars()
            ]

    def forget_upload(self, upload_id: str, cutoff: datetime) -> bool:
        """Delete an upload session still idle since before ``cutoff``."""
        with writing(self._engine) as conn:
            gone = conn.execute(
                delete(uploads).where(uploads.c.id == upload_id, uploads.c.updated_at < cutoff)
            ).rowcount
        return bool(gone)

    def upload_ids(self) -> set[str]:
        with reading(self._engine) as conn:
            return {str(u) for u in conn.execute(select(uploads.c.id)).scalars()}

    def freeable(self, cutoff: datetime, now: datetime) -> Freeable:
        """What a pass at ``now`` with this cutoff would free, without changing anything.

        As in a real pass: stale links go, unlinked blobs are marked at ``now``, and
        only blobs marked at or before the cutoff are swept.
        """
        stale = and_(repository_blobs.c.linked_at < cutoff, ~_referenced_in_repository())
        live_link = (
            select(repository_blobs.c.digest)
            .where(repository_blobs.c.digest == blobs.c.digest, ~stale)
            .exists()
        )
        marked_in_time = blobs.c.doomed_at <= cutoff
        if now <= cutoff:  # no grace: what this pass marks, it also sweeps
            marked_in_time = or_(marked_in_time, blobs.c.doomed_at.is_(None))
        with reading(self._engine) as conn:
            count = conn.execute(select(func.count()).select_from(repository_blobs).where(stale))
            rows = conn.execute(
                select(blobs.c.digest, blobs.c.size).where(~live_link, marked_in_time)
            ).all()
            return Freeable(int(count.scalar_one()), [(Digest.parse(d), int(s)) for d, s in rows])

    def drop_stale_links(self, cutoff: datetime) -> int:
        with writing(self._engine) as conn:
            exclude_writers(conn)
            return int(
                conn.execute(
                    delete(repository_blobs).where(
                        repository_blobs.c.linked_at < cutoff, ~_referenced_in_repository()
                    )
                ).rowcount
            )

    def mark_unreferenced(self, now: datetime) -> int:
        unlinked = ~exists().where(repository_blobs.c.digest == blobs.c.digest)
        with writing(self._engine) as conn:
            exclude_writers(conn)
            return int(
                conn.execute(
                    update(blobs).where(blobs.c.doomed_at.is_(None), unlinked).values(doomed_at=now)
                ).rowcount
            )

    def sweep(
        self, cutoff: datetime, delete_bytes: Callable[[Digest], None], limit: int = 200
    ) -> list[tuple[Digest, int]]:
        """Delete up to ``limit`` blobs marked before ``cutoff`` and still unlinked."""
        unlinked = ~exists().where(repository_blobs.c.digest == blobs.c.digest)
        with writing(self._engine) as conn:
            exclude_writers(conn)
            rows = conn.execute(
                select(blobs.c.digest, blobs.c.size)
                .where(blobs.c.doomed_at <= cutoff, unlinked)
                .limit(limit)
            ).all()
            swept = [(Digest.parse(d), int(s)) for d, s in rows]
            if swept:
                conn.execute(delete(blobs).where(blobs.c.digest.in_([d for d, _ in rows])))
                for digest, _ in swept:
                    delete_bytes(digest)
        return swept

    def delete_if_unknown(self, digest: Digest, delete_bytes: Callable[[Digest], None]) -> bool:
        """Delete stored bytes that no blob row describes (a crash between commit and link)."""
        with writing(self._engine) as conn:
            exclude_writers(conn)
            known = conn.execute(
                select(blobs.c.digest).where(blobs.c.digest == str(digest))
            ).first()
            if known is not None:
                return False
            delete_bytes(digest)
        return True

    def known_blobs(self) -> set[str]:
        with reading(self._engine) as conn:
            return {str(d) for d in conn.execute(select(blobs.c.digest)).scalars()}

    def repository_bytes(self, key: RepositoryKey) -> int:
        """Storage a repository holds: the sizes of the blobs it links, each counted once."""
        with reading(self._engine) as conn:
            rid = require_repository(conn, key)
            total = conn.execute(
                select(func.coalesce(func.sum(blobs.c.size), 0))
                .select_from(
                    repository_blobs.join(blobs, blobs.c.digest == repository_blobs.c.digest)
                )
                .where(repository_blobs.c.repository_id == rid)
            ).scalar_one()
        return int(total)
