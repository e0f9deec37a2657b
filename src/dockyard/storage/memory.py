"""Blobs in this process's memory: for tests and throwaway registries.

Content is lost when the process exits, and each process has its own store, so
it suits one server process only (not ``--workers`` above 1, not several nodes).
It keeps every promise of ``storage/base.py`` otherwise, including thread safety:
the services call a store from the event loop and from worker threads, so every
change happens under one lock, and reads stream from an immutable snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    UploadOutOfOrder,
)
from dockyard.storage.base import Observer
from dockyard.storage.names import checked_digest, checked_upload_id

_READ_CHUNK = 1 << 20


@dataclass(slots=True)
class _Blob:
    data: bytes
    modified: float


@dataclass(slots=True)
class _Upload:
    data: bytearray = field(default_factory=bytearray)
    modified: float = field(default_factory=time.time)


class MemoryBlobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[Digest, _Blob] = {}
        self._uploads: dict[str, _Upload] = {}

    async def size(self, digest: Digest) -> int | None:
        digest = checked_digest(digest)
        with self._lock:
            blob = self._blobs.get(digest)
            return None if blob is None else len(blob.data)

    def local_path(self, digest: Digest) -> Path | None:
        checked_digest(digest)
        return None

    async def presigned_url(self, digest: Digest, expires_in: int) -> str | None:
        checked_digest(digest)
        return None  # no HTTP of its own: the server sends the bytes

    async def read(
        self, digest: Digest, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        digest = checked_digest(digest)
        _check_range(offset, length)
        with self._lock:
            blob = self._blobs.get(digest)
        if blob is None:
            raise BlobUnknown(str(digest))
        end = len(blob.data) if length is None else min(len(blob.data), offset + length)
        for start in range(offset, end, _READ_CHUNK):
            yield blob.data[start : min(start + _READ_CHUNK, end)]

    async def delete(self, digest: Digest) -> None:
        digest = checked_digest(digest)
        with self._lock:
            self._blobs.pop(digest, None)

    async def write_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        observe: Observer,
        limit: int,
    ) -> int:
        checked_upload_id(upload_id)
        with self._lock:
            upload = self._uploads.get(upload_id)
            held = 0 if upload is None else len(upload.data)
            if offset < 0 or offset > held:
                raise UploadOutOfOrder(upload_id, held, offset)
            if upload is None:
                upload = self._uploads[upload_id] = _Upload()
            del upload.data[offset:]
            upload.modified = time.time()
        written = 0
        async for chunk in chunks:
            if not chunk:
                continue
            if offset + written + len(chunk) > limit:
                raise BlobTooLarge(limit)
            observe(chunk)
            with self._lock:
                # An abort while we were waiting for the chunk ends this write's effect.
                if self._uploads.get(upload_id) is not upload:
                    raise BlobUploadUnknown(upload_id)
                upload.data += chunk
                upload.modified = time.time()
            written += len(chunk)
        return written

    async def read_upload(
        self, upload_id: str, length: int, offset: int = 0
    ) -> AsyncIterator[bytes]:
        checked_upload_id(upload_id)
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                raise BlobUploadUnknown(upload_id)
            _check_held(upload_id, len(upload.data), length)
            snapshot = bytes(upload.data[offset:length])
        for start in range(0, len(snapshot), _READ_CHUNK):
            yield snapshot[start : start + _READ_CHUNK]

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        checked_upload_id(upload_id)
        digest = checked_digest(digest)
        now = time.time()
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                raise BlobUploadUnknown(upload_id)
            _check_held(upload_id, len(upload.data), size)
            del upload.data[size:]
            upload.modified = now
            existing = self._blobs.get(digest)
            if existing is not None:
                existing.modified = now  # same digest, same bytes: only the time is new
            else:
                self._blobs[digest] = _Blob(bytes(upload.data), now)

    async def abort_upload(self, upload_id: str) -> None:
        checked_upload_id(upload_id)
        with self._lock:
            self._uploads.pop(upload_id, None)

    async def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        with self._lock:
            listed = [(d, len(b.data), b.modified) for d, b in self._blobs.items()]
        for entry in listed:
            yield entry

    async def uploads(self) -> AsyncIterator[tuple[str, float]]:
        with self._lock:
            listed = [(upload_id, u.modified) for upload_id, u in self._uploads.items()]
        for entry in listed:
            yield entry


def _check_range(offset: int, length: int | None) -> None:
    if offset < 0 or (length is not None and length < 0):
        raise ValueError(f"bad range: offset {offset}, length {length}")


def _check_held(upload_id: str, held: int, wanted: int) -> None:
    if wanted < 0 or wanted > held:
        raise BlobUploadInvalid(f"upload {upload_id} holds {held} bytes, not {wanted}")
