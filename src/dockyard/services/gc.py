"""Online garbage collection: free what nothing references, never what a push still needs.

Design: reference marking with a grace period. A repository's link to a blob is
dropped only when no manifest of the repository references it and the link is
older than the grace period, which covers a push that has uploaded its layers
but not yet its manifest. A blob with no links is marked; only a blob that
stayed marked for the grace period is swept, and any new link in between (a
re-push, a mount) clears the mark. The sweep deletes row and bytes in one
write transaction (see metadata/garbage.py). A grace period of 0 frees at once
whatever nothing references: for an operator who has stopped all writers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import GarbageStore
from dockyard.services.threads import blocking
from dockyard.storage import BlobStore

Progress = Callable[[str, int], None]  # (phase, items done in it)


@dataclass(slots=True)
class GcReport:
    dry_run: bool
    expired_uploads: int = 0
    dropped_links: int = 0
    freed_blobs: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    orphan_files: int = 0


class GarbageCollector:
    def __init__(self, store: GarbageStore, blobs: BlobStore) -> None:
        self._store = store
        self._blobs = blobs

    async def storage_of(self, key: RepositoryKey) -> int:
        return await blocking(self._store.repository_bytes, key)

    async def run(
        self,
        grace: timedelta,
        upload_expiry: timedelta,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> GcReport:
        now = datetime.now(UTC)
        cutoff, upload_cutoff = now - grace, now - upload_expiry
        report = GcReport(dry_run=dry_run)
        tick = progress or (lambda _phase, _n: None)
        if dry_run:
            freeable = await blocking(self._store.freeable, cutoff, now)
            report.dropped_links = freeable.stale_links
            report.freed_blobs = [str(d) for d, _ in freeable.blobs]
            report.freed_bytes = sum(size for _, size in freeable.blobs)
            report.expired_uploads = len(await blocking(self._store.expired_uploads, upload_cutoff))
            return report

        for upload_id in await blocking(self._store.expired_uploads, upload_cutoff):
            if await blocking(self._store.forget_upload, upload_id, upload_cutoff):
                await self._blobs.abort_upload(upload_id)
                report.expired_uploads += 1
                tick("uploads", report.expired_uploads)
        report.dropped_links = await blocking(self._store.drop_stale_links, cutoff)
        tick("links", report.dropped_links)
        await blocking(self._store.mark_unreferenced, now)
        delete_bytes = self._sync_delete(asyncio.get_running_loop())
        while True:
            swept = await blocking(self._store.sweep, cutoff, delete_bytes)
            if not swept:
                break
            report.freed_blobs += [str(d) for d, _ in swept]
            report.freed_bytes += sum(size for _, size in swept)
            tick("blobs", len(report.freed_blobs))
        await self._orphans(report, cutoff, upload_cutoff, delete_bytes, tick)
        return report

    async def _orphans(
        self,
        report: GcReport,
        cutoff: datetime,
        upload_cutoff: datetime,
        delete_bytes: Callable[[Digest], None],
        tick: Progress,
    ) -> None:
        """Bytes no row describes: left by a crash between writing and recording them."""
        known = await blocking(self._store.known_blobs)
        async for digest, _size, modified in self._blobs.blobs():
            if str(digest) in known or datetime.fromtimestamp(modified, UTC) >= cutoff:
                continue
            if await blocking(self._store.delete_if_unknown, digest, delete_bytes):
                report.orphan_files += 1
                tick("orphans", report.orphan_files)
        sessions = await blocking(self._store.upload_ids)
        async for upload_id, modified in self._blobs.uploads():
            if upload_id not in sessions and datetime.fromtimestamp(modified, UTC) < upload_cutoff:
                await self._blobs.abort_upload(upload_id)
                report.orphan_files += 1

    def _sync_delete(self, loop: asyncio.AbstractEventLoop) -> Callable[[Digest], None]:
        # The sweep runs in a worker thread inside a database transaction; the
        # store is async, so its delete runs on the event loop while we wait.
        def delete(digest: Digest) -> None:
            asyncio.run_coroutine_threadsafe(self._blobs.delete(digest), loop).result()

        return delete
