"""The blob-store interface.

Blobs are immutable and addressed by digest. An upload is written in pieces,
each starting at the offset the caller says (so a piece cut short by a crash is
simply written again), and becomes visible under its digest only at
``commit_upload`` — atomically, all or nothing. Nothing here renames or appends
in place as a matter of contract, so an object store (multipart uploads, no
rename) fits the same shape as a filesystem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from dockyard.domain.digests import Digest

Observer = Callable[[bytes], None]


class BlobStore(Protocol):
    async def size(self, digest: Digest) -> int | None:
        """The stored size of a blob, or None when the store does not hold it."""

    def read(
        self, digest: Digest, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream a blob's bytes from ``offset``, ``length`` of them (to the end when None)."""

    def local_path(self, digest: Digest) -> Path | None:
        """A path the server may hand to zero-copy file sending, when the store has one."""

    async def delete(self, digest: Digest) -> None:
        """Remove a blob; deleting one that is not there is not an error."""

    async def write_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        observe: Observer,
        limit: int,
    ) -> int:
        """Write ``chunks`` into an upload at ``offset``; returns the bytes written.

        ``observe`` sees every byte in order (for hashing) before it is stored.
        Anything previously written at or past ``offset`` is discarded first.
        More than ``limit`` bytes raises ``BlobTooLarge``.
        """

    def read_upload(self, upload_id: str, length: int) -> AsyncIterator[bytes]:
        """Stream the first ``length`` bytes of an upload (to re-hash it after a restart)."""

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        """Make the first ``size`` bytes of an upload visible as blob ``digest``, atomically.

        The upload keeps its bytes until ``abort_upload``, so a caller can commit again
        if garbage collection removed the blob before the caller's reference landed.
        """

    async def abort_upload(self, upload_id: str) -> None:
        """Discard an upload's bytes; aborting an unknown upload is not an error."""

    def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        """Every stored blob: (digest, size, modified time as epoch seconds)."""

    def uploads(self) -> AsyncIterator[tuple[str, float]]:
        """Every upload holding bytes: (upload id, last modified as epoch seconds)."""
