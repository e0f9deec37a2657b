"""Blobs as files under a root directory.

Layout: ``blobs/<algorithm>/<first two hex>/<hex>`` for content and
``uploads/<id>`` for uploads in progress, on the same filesystem so that a
commit is a single ``os.replace``. Files are fsynced before they become
visible, so a crash never leaves a truncated blob under a digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from dockyard.domain.digests import Digest
from dockyard.domain.errors import BlobTooLarge
from dockyard.storage.base import Observer

_WRITE_BATCH = 1 << 20  # join small network reads into 1 MiB writes
_READ_CHUNK = 1 << 20


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self._blobs = root / "blobs"
        self._uploads = root / "uploads"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._uploads.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: Digest) -> Path:
        return self._blobs / digest.algorithm / digest.hex[:2] / digest.hex

    def _upload_path(self, upload_id: str) -> Path:
        if not upload_id.replace("-", "").isalnum():
            raise ValueError(f"bad upload id {upload_id!r}")
        return self._uploads / upload_id

    async def size(self, digest: Digest) -> int | None:
        try:
            return (await asyncio.to_thread(os.stat, self._path(digest))).st_size
        except FileNotFoundError:
            return None

    def local_path(self, digest: Digest) -> Path | None:
        return self._path(digest)

    async def read(
        self, digest: Digest, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        async for chunk in _read_file(self._path(digest), offset, length):
            yield chunk

    async def delete(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self._path(digest))

    async def write_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        observe: Observer,
        limit: int,
    ) -> int:
        path = self._upload_path(upload_id)
        handle = await asyncio.to_thread(_open_at, path, offset)
        written = 0
        pending: asyncio.Future[None] | None = None
        try:
            batch: list[bytes] = []
            batched = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                written += len(chunk)
                if offset + written > limit:
                    raise BlobTooLarge(limit)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH:
                    # Hash and write one batch in a thread while the next arrives.
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(
                        asyncio.to_thread(_write, handle, b"".join(batch), observe)
                    )
                    batch, batched = [], 0
            if pending is not None:
                await pending
                pending = None
            if batch:
                await asyncio.to_thread(_write, handle, b"".join(batch), observe)
        finally:
            if pending is not None:
                with contextlib.suppress(BaseException):
                    await pending
            await asyncio.to_thread(handle.close)
        return written

    async def read_upload(self, upload_id: str, length: int) -> AsyncIterator[bytes]:
        async for chunk in _read_file(self._upload_path(upload_id), 0, length):
            yield chunk

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        await asyncio.to_thread(
            self._commit, self._upload_path(upload_id), self._path(digest), size
        )

    @staticmethod
    def _commit(source: Path, target: Path, size: int) -> None:
        with open(source, "r+b") as handle:
            handle.truncate(size)
            os.fsync(handle.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        # A second name for the same bytes, swapped in atomically; the upload keeps its own.
        staging = target.with_name(f".{target.name}.{os.getpid()}.{id(source)}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
        os.link(source, staging)
        os.replace(staging, target)
        _fsync_dir(target.parent)

    async def abort_upload(self, upload_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self._upload_path(upload_id))

    async def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        for path in await asyncio.to_thread(_walk_blobs, self._blobs):
            try:
                stat = await asyncio.to_thread(os.stat, path)
            except FileNotFoundError:
                continue
            yield Digest(path.parent.parent.name, path.name), stat.st_size, stat.st_mtime

    async def uploads(self) -> AsyncIterator[tuple[str, float]]:
        for entry in await asyncio.to_thread(lambda: list(os.scandir(self._uploads))):
            with contextlib.suppress(FileNotFoundError):
                yield entry.name, entry.stat().st_mtime


def _walk_blobs(root: Path) -> list[Path]:
    # Skip staging names (".<hex>...") a crash may have left; they are not blobs.
    return [p for p in root.glob("*/??/*") if not p.name.startswith(".")]


def _open_at(path: Path, offset: int) -> BinaryIO:
    handle: BinaryIO
    try:
        handle = open(path, "r+b")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        handle = open(path, "w+b")  # noqa: SIM115
    handle.truncate(offset)
    handle.seek(offset)
    return handle


def _write(handle: BinaryIO, data: bytes, observe: Observer) -> None:
    observe(data)
    handle.write(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _read_file(path: Path, offset: int, length: int | None) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(handle.seek, offset)
        remaining = length
        while remaining is None or remaining > 0:
            size = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
            chunk = await asyncio.to_thread(handle.read, size)
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
