"""Blob uploads: monolithic, chunked and resumable.

An upload session's committed offset lives in the metadata store, so a session
survives a restart and can be resumed from there; the bytes live in the blob
store. The running hash of a session is kept in memory as a shortcut: a write from
offset 0 starts one, and a session another process (or node) wrote last, or one
this process forgot, is re-read and hashed at completion instead. A process
keeps a bounded number of them and an upload's lock only while it is in use, so
sessions that end elsewhere leave nothing behind here.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from dockyard.domain.digests import Digest, Hasher, new_hasher
from dockyard.domain.errors import (
    BlobUploadInvalid,
    DigestInvalid,
    UploadChangedConcurrently,
    UploadOutOfOrder,
)
from dockyard.domain.records import RepositoryKey, UploadState
from dockyard.metadata import ContentStore
from dockyard.services.threads import blocking, quick_read
from dockyard.storage import BlobStore

# Running hashes a process keeps, one per upload it wrote last (a sha256 state is ~200 bytes).
_RUNNING_HASHES = 4096


@dataclass(slots=True)
class _RunningHash:
    offset: int
    hasher: Hasher


class Uploads:
    def __init__(self, metadata: ContentStore, store: BlobStore, max_blob_bytes: int) -> None:
        self._metadata = metadata
        self._store = store
        self._max_blob_bytes = max_blob_bytes
        self._hashes: dict[str, _RunningHash] = {}  # oldest first
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # and how many hold or wait

    async def start(self, key: RepositoryKey) -> UploadState:
        return await blocking(self._metadata.create_upload, key, str(uuid.uuid4()))

    async def status(self, key: RepositoryKey, upload_id: str) -> UploadState:
        return await quick_read(
            self._metadata.reads_are_local, self._metadata.get_upload, key, upload_id
        )

    async def push_whole(
        self, key: RepositoryKey, digest: Digest, body: AsyncIterator[bytes]
    ) -> int:
        """A monolithic upload: needs no session, since nothing can resume it."""
        upload_id = uuid.uuid4().hex
        hasher = new_hasher(digest.algorithm)
        try:
            size = await self._store.write_upload(
                upload_id, 0, body, hasher.update, self._max_blob_bytes
            )
            _check_digest(digest, hasher)
            await self._store.commit_upload(upload_id, digest, size)
            await blocking(self._metadata.link_blob, key, digest, size)
            await self._survive_gc(upload_id, digest, size)
        finally:
            await self._store.abort_upload(upload_id)
        return size

    async def store_arriving(
        self,
        key: RepositoryKey,
        digest: Digest,
        body: AsyncIterator[bytes],
        upload_id: str,
        written: Callable[[str, int], Awaitable[None]],
        segment: int = 2 << 20,
    ) -> int:
        """A blob fetched from elsewhere (the pull-through cache), stored as ``push_whole``
        stores one, but written in segments of ``segment`` bytes, telling ``written`` after
        each how much the upload holds, so that readers can send those bytes on at once.
        Nothing becomes visible unless every byte arrived and the digest matches. The
        upload is left for the caller to ``abandon`` once nobody reads it."""
        hasher = new_hasher(digest.algorithm)
        pieces = _Segments(body, segment)
        size = 0
        try:
            while not pieces.ended:
                size += await self._store.write_upload(
                    upload_id, size, pieces.next(), hasher.update, self._max_blob_bytes
                )
                await written(upload_id, size)
            _check_digest(digest, hasher)
            await self._store.commit_upload(upload_id, digest, size)
            await blocking(self._metadata.link_blob, key, digest, size)
            await self._survive_gc(upload_id, digest, size)
        except BaseException:
            await self._store.abort_upload(upload_id)
            raise
        return size

    def read_arriving(self, upload_id: str, length: int, offset: int) -> AsyncIterator[bytes]:
        """Bytes ``[offset, length)`` of an upload ``store_arriving`` is writing."""
        return self._store.read_upload(upload_id, length, offset)

    async def abandon(self, upload_id: str) -> None:
        """Discard an upload's bytes (a committed blob keeps its own)."""
        await self._store.abort_upload(upload_id)

    async def append(
        self,
        key: RepositoryKey,
        upload_id: str,
        body: AsyncIterator[bytes],
        start: int | None,
        length: int | None,
    ) -> UploadState:
        async with self._lock(upload_id):
            state = await self.status(key, upload_id)
            return await self._append_chunk(state, body, start, length)

    async def _append_chunk(
        self,
        state: UploadState,
        body: AsyncIterator[bytes],
        start: int | None,
        length: int | None,
    ) -> UploadState:
        written = await self._write_chunk(state, body, start, length)
        return await self._advance(state, written.offset - state.offset)

    async def _write_chunk(
        self,
        state: UploadState,
        body: AsyncIterator[bytes],
        start: int | None,
        length: int | None,
    ) -> UploadState:
        """Write one chunk at the session's offset, not yet recorded; a chunk that says it
        starts elsewhere is refused before any byte is written, so the session stays as it
        was (416)."""
        if start is not None and start != state.offset:
            raise UploadOutOfOrder(state.upload_id, state.offset, start)
        written = await self._write(state, body)
        if length is not None and written != length:
            raise BlobUploadInvalid(f"chunk claimed {length} bytes but carried {written}")
        return UploadState(
            state.upload_id, state.repository, state.offset + written, state.started_at, written
        )

    async def complete(
        self,
        key: RepositoryKey,
        upload_id: str,
        digest: Digest,
        body: AsyncIterator[bytes],
        start: int | None = None,
        length: int | None = None,
    ) -> int:
        """Close the session, with an optional last chunk (placed by ``start``/``length``
        like a PATCH's)."""
        async with self._lock(upload_id):
            state = await self.status(key, upload_id)
            recorded = state.offset
            # The closing chunk's offset is not recorded on its own: the finish below checks
            # that nobody moved the upload meanwhile, and a crash before it leaves the chunk
            # unrecorded, to be written again, which the offset-addressed store allows.
            state = await self._write_chunk(state, body, start, length)
            hasher = await self._hash_of(state, digest.algorithm)
            try:
                _check_digest(digest, hasher)
            except DigestInvalid:
                await self._discard(upload_id)
                raise
            await self._store.commit_upload(upload_id, digest, state.offset)
            if not await blocking(
                self._metadata.finish_upload, key, upload_id, digest, state.offset, recorded
            ):
                raise UploadChangedConcurrently(upload_id)
            await self._survive_gc(upload_id, digest, state.offset)
            await self._store.abort_upload(upload_id)
            self._forget(upload_id)
            return state.offset

    async def _survive_gc(self, upload_id: str, digest: Digest, size: int) -> None:
        """Commit again if GC swept the blob between our commit and our reference.

        GC deletes a blob's bytes in the same transaction that deletes its row, so
        once our reference is written either GC saw it (and kept the blob) or GC
        finished before it, and the check below sees the bytes gone.
        """
        if await self._store.size(digest) is None:
            await self._store.commit_upload(upload_id, digest, size)

    async def cancel(self, key: RepositoryKey, upload_id: str) -> None:
        async with self._lock(upload_id):
            await self.status(key, upload_id)
            await self._discard(upload_id)

    async def _write(self, state: UploadState, body: AsyncIterator[bytes]) -> int:
        running = self._hashes.pop(state.upload_id, None)
        if running is not None and running.offset != state.offset:
            running = None  # another process or node wrote since: hash at completion
        if running is None and state.offset == 0:
            # Most digests are sha256: hash as the bytes arrive, in the hope of it.
            running = _RunningHash(0, new_hasher("sha256"))
        if running is not None:
            self._keep_hash(state.upload_id, running)
        observe = running.hasher.update if running else _ignore
        try:
            written = await self._store.write_upload(
                state.upload_id, state.offset, body, observe, self._max_blob_bytes
            )
        except BaseException:
            # The hash may have seen bytes that were never committed.
            self._hashes.pop(state.upload_id, None)
            raise
        if running is not None:
            running.offset += written
        return written

    async def _advance(self, state: UploadState, written: int) -> UploadState:
        if not written:
            return state
        new_offset = state.offset + written
        if not await blocking(
            self._metadata.advance_upload, state.upload_id, state.offset, new_offset
        ):
            raise UploadChangedConcurrently(state.upload_id)
        return UploadState(state.upload_id, state.repository, new_offset, state.started_at, written)

    async def _hash_of(self, state: UploadState, algorithm: str) -> Hasher:
        running = self._hashes.get(state.upload_id)
        if running is not None and running.offset == state.offset and algorithm == "sha256":
            return running.hasher
        hasher = new_hasher(algorithm)
        async for chunk in self._store.read_upload(state.upload_id, state.offset):
            await asyncio.to_thread(hasher.update, chunk)
        return hasher

    async def _discard(self, upload_id: str) -> None:
        await blocking(self._metadata.delete_upload, upload_id)
        await self._store.abort_upload(upload_id)
        self._forget(upload_id)

    def _keep_hash(self, upload_id: str, running: _RunningHash) -> None:
        self._hashes[upload_id] = running
        while len(self._hashes) > _RUNNING_HASHES:
            # The longest untouched: most likely finished elsewhere; if not, re-read.
            del self._hashes[next(iter(self._hashes))]

    @contextlib.asynccontextmanager
    async def _lock(self, upload_id: str) -> AsyncIterator[None]:
        """This process's requests on one upload one at a time (other processes and nodes
        are kept out by the offset compare-and-set in the metadata)."""
        held = self._locks.get(upload_id)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[upload_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[upload_id]
            if users == 1:
                del self._locks[upload_id]
            else:
                self._locks[upload_id] = (lock, users - 1)

    def _forget(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)


class _Segments:
    """One stream as consecutive parts of at most about ``size`` bytes each."""

    def __init__(self, body: AsyncIterator[bytes], size: int) -> None:
        self._body = body.__aiter__()
        self._size = size
        self.ended = False

    async def next(self) -> AsyncIterator[bytes]:
        taken = 0
        while taken < self._size:
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self.ended = True
                return
            taken += len(chunk)
            yield chunk


def _ignore(_data: bytes) -> None:
    return None


def _check_digest(expected: Digest, hasher: Hasher) -> None:
    actual = Digest(expected.algorithm, hasher.hexdigest())
    if actual != expected:
        raise DigestInvalid(str(expected), f"content has digest {actual}")
