"""Reading, mounting and unlinking blobs of a repository.

A blob's bytes are sent by the server (from a file when the store has one, else streamed
from the store), or, when the store serves HTTP itself (S3), the client is sent there: a
presigned URL, so the bytes never pass through the registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dockyard.domain.digests import Digest, lookup_digest
from dockyard.domain.errors import BlobUnknown, NameUnknown, RangeNotSatisfiable
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import ContentStore
from dockyard.services.threads import blocking, quick_read
from dockyard.storage import BlobStore

# How long a blob GET's redirect stays valid: the client follows it at once, and a download
# that started in time finishes whatever its length.
REDIRECT_LIFETIME = 20 * 60


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class BlobContent:
    digest: Digest
    size: int
    range: ByteRange | None
    path: Path | None  # set when the whole blob can be sent straight from a file
    chunks: AsyncIterator[bytes] | None
    redirect: str | None = None  # set when the client fetches the bytes from this URL


class Blobs:
    def __init__(self, metadata: ContentStore, store: BlobStore, renew_after: timedelta) -> None:
        self._metadata = metadata
        self._store = store
        self._renew_after = renew_after

    async def lookup(self, key: RepositoryKey, text: str) -> Digest:
        """The digest a GET, HEAD or DELETE of a blob names.

        Text that is no digest the registry stores content under names no blob the repository
        could hold: unknown, like any other missing blob (after the repository itself).
        """
        digest = lookup_digest(text)
        if digest is None:
            await blocking(self._metadata.check_repository, key)
            raise BlobUnknown(text)
        return digest

    async def size(self, key: RepositoryKey, digest: Digest) -> int:
        return await quick_read(
            self._metadata.reads_are_local, self._metadata.blob_size, key, digest
        )

    async def probe(self, key: RepositoryKey, digest: Digest) -> int:
        """``size`` for a client asking whether it can skip an upload.

        A client told "yes" will name the blob in a manifest soon, so an old link
        gets a fresh GC grace period (a write at most once per half grace period).
        """
        size, linked_at = await quick_read(
            self._metadata.reads_are_local, self._metadata.blob_link, key, digest
        )
        if datetime.now(UTC) - linked_at > self._renew_after:
            await blocking(self._metadata.renew_link, key, digest)
        return size

    async def open(
        self, key: RepositoryKey, digest: Digest, range_header: str | None = None
    ) -> BlobContent:
        size = await self.size(key, digest)
        url = await self._store.presigned_url(digest, REDIRECT_LIFETIME)
        if url is not None:
            # The store serves ranges too; the metadata said the repository holds the blob.
            return BlobContent(digest, size, None, None, None, url)
        wanted = parse_range(range_header, size) if range_header else None
        if wanted is None:
            path = self._store.local_path(digest)
            if path is not None:
                if await self._store.size(digest) is None:
                    raise BlobUnknown(str(digest))
                return BlobContent(digest, size, None, path, None)
            return BlobContent(digest, size, None, None, self._store.read(digest))
        if await self._store.size(digest) is None:
            raise BlobUnknown(str(digest))
        chunks = self._store.read(digest, wanted.start, wanted.length)
        return BlobContent(digest, size, wanted, None, chunks)

    def stream(self, digest: Digest, offset: int = 0) -> AsyncIterator[bytes]:
        """A stored blob's bytes from ``offset`` (the caller knows the repository holds it)."""
        return self._store.read(digest, offset)

    async def download_url(self, key: RepositoryKey, digest: Digest, lifetime: int) -> str | None:
        """A URL of the store's own serving the blob for ``lifetime`` seconds, or None when
        the store has none; BlobUnknown when the repository holds no such blob."""
        await self.size(key, digest)
        return await self._store.presigned_url(digest, lifetime)

    async def mount(self, source: RepositoryKey, target: RepositoryKey, digest: Digest) -> bool:
        """Link a blob held by ``source`` into ``target``; False when source holds no such blob."""
        try:
            return await blocking(self._metadata.mount_blob, source, target, digest)
        except NameUnknown:
            return False

    async def adopt(self, target: RepositoryKey, digest: Digest) -> bool:
        """Link a blob another repository holds into ``target``, for a caller that knows
        ``target`` may hold it; False when no repository holds it (or ``target`` is gone)."""
        try:
            return await blocking(self._metadata.adopt_blob, target, digest)
        except NameUnknown:
            return False


def parse_range(header: str, size: int) -> ByteRange:
    """One ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range, clipped to the blob."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise RangeNotSatisfiable(size)
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise RangeNotSatisfiable(size)
            start, end = max(size - suffix, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        raise RangeNotSatisfiable(size) from None
    end = min(end, size - 1)
    if start < 0 or start > end:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, end)
