"""The blob-store interface.

Blobs are immutable and addressed by digest. An upload is written in pieces,
each starting at the offset the caller says (so a piece cut short by a crash is
simply written again), and becomes visible under its digest only at
``commit_upload`` — atomically, all or nothing. Nothing here renames or appends
in place as a matter of contract, so an object store (multipart uploads, no
rename) fits the same shape as a filesystem.

Promises every backend keeps (``tests/storage/contract.py`` checks each one):

- Names: a digest must be one the registry stores content under (sha256 or
  sha512, lowercase hex), else ``DigestInvalid``; an upload id is 1-128
  letters, digits and dashes, else ``ValueError``. Stores turn names into paths
  or keys, so they check them rather than trust the caller.
- The store does not hash. ``commit_upload``'s digest is the caller's claim,
  checked before it commits (through ``observe`` while writing, or by
  ``read_upload`` after a restart): hashing once while streaming is cheaper
  than reading every blob again.
- A committed blob never changes: later writes to, commits of or aborts of the
  upload it came from leave it as it was. Readers see a whole blob or none.
- Every method may be called from any thread and event loop, concurrently;
  concurrent commits of one digest leave one intact blob. Concurrent writes to
  one upload are the caller's to prevent (services/uploads.py serializes them).
- Nothing is left behind: after every blob is deleted and every upload aborted
  the store holds no data (a filesystem may keep its fan-out directories).
- A blob can be handed to a client by the store itself when the store serves HTTP
  (``presigned_url``: S3), so a server can redirect a download instead of proxying it;
  a store that cannot (filesystem, memory) answers None and the server sends the bytes.
- Times are the store's: listings give them to the store's resolution (S3 keeps a
  second), which garbage collection's grace periods of minutes or hours do not notice.
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
        """Stream a blob's bytes from ``offset``, ``length`` of them (to the end when None).

        Reading past the end is not an error: the stream stops at the blob's end, and an
        offset at or past it yields no bytes. A negative offset or length is a ValueError.
        A blob the store does not hold raises ``BlobUnknown`` when the stream is first
        iterated. Chunks are bounded (about 1 MiB), never the whole blob at once.
        """

    def local_path(self, digest: Digest) -> Path | None:
        """A path the server may hand to zero-copy file sending, when the store has one.

        The path may name no file (the blob is absent): callers ask ``size`` first.
        """

    async def presigned_url(self, digest: Digest, expires_in: int) -> str | None:
        """A URL from which any HTTP client can GET the blob's bytes for ``expires_in``
        seconds without other credentials, or None when the store has no such URLs.

        The URL is a credential by itself (keep it out of logs) and is made without
        checking that the blob is there: callers ask ``size`` (or their metadata) first.
        """

    async def delete(self, digest: Digest) -> None:
        """Remove a blob; deleting one that is not there is not an error.

        Uploads are untouched, so an upload can commit the blob again (see ``commit_upload``).
        """

    async def write_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        observe: Observer,
        limit: int,
    ) -> int:
        """Write ``chunks`` into an upload at ``offset``; returns the bytes written.

        The first write (at offset 0, even of no bytes) creates the upload.
        ``observe`` sees every byte in order (for hashing) before it is stored.
        Anything previously written at or past ``offset`` is discarded first.
        An offset past the upload's end (a gap) raises ``UploadOutOfOrder``, before
        anything changes. An upload larger than ``limit`` bytes in all (offset
        included) raises ``BlobTooLarge``. After a write that raised, the upload
        still holds its first ``offset`` bytes; what lies past them is unspecified,
        and the caller writes again from its own committed offset.
        """

    def read_upload(self, upload_id: str, length: int, offset: int = 0) -> AsyncIterator[bytes]:
        """Stream the first ``length`` bytes of an upload from ``offset`` (to re-hash it
        after a restart; to send a blob still being written to clients that wait for it).

        An unknown upload raises ``BlobUploadUnknown``, one holding fewer than ``length``
        bytes ``BlobUploadInvalid``, when the stream is first iterated.
        """

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        """Make the first ``size`` bytes of an upload visible as blob ``digest``, atomically.

        The upload keeps its bytes until ``abort_upload``, so a caller can commit again
        if garbage collection removed the blob before the caller's reference landed.
        Committing a digest the store already holds is not an error: the blob stays
        (same digest, same bytes) and its modified time becomes now. An unknown (never
        written, or aborted) upload raises ``BlobUploadUnknown``; one holding fewer than
        ``size`` bytes raises ``BlobUploadInvalid``, and nothing becomes visible.
        """

    async def abort_upload(self, upload_id: str) -> None:
        """Discard an upload's bytes; aborting an unknown upload is not an error.

        Blobs committed from the upload stay.
        """

    def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        """Every stored blob: (digest, size, modified time as epoch seconds).

        The modified time is when the blob was last committed, so garbage collection's
        grace period for bytes no row describes starts at the commit, not at the upload's
        first byte. Uploads are not listed. A blob committed or deleted while the listing
        runs may or may not appear; the listing never fails because of it.
        """

    def uploads(self) -> AsyncIterator[tuple[str, float]]:
        """Every upload holding bytes: (upload id, last modified as epoch seconds).

        An upload is listed from its first write until it is aborted (committing it does
        not end it); its time is that of its last write or commit.
        """
