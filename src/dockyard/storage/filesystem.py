"""Blobs as files under a root directory.

Layout: ``blobs/<algorithm>/<first two hex>/<hex>`` for content and
``uploads/<id>`` for uploads in progress (``rewrites/`` for an upload's new file
while it is filled), on the same filesystem so that a commit is a single link.
Files are fsynced before they become visible, so a crash never leaves a
truncated blob under a digest. A commit
hard-links the upload's file to the blob's name (no copy, nothing staged), so
an upload that is written again after its commit is first copied to a file of
its own: a committed blob never changes. The 256 fan-out directories per
algorithm are kept when their blobs are deleted.

Two requests on one upload may run at once in two processes. An upload file's bytes
are therefore never changed in place: a write appends, and a write below the end
puts a new file in place (the bytes before its offset copied). A process remembers
which file it last wrote or read for an upload, the bytes its caller checked, and
its commit refuses any other and links the very file it opened, so a blob never
gets bytes that were not checked against its digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from dockyard.domain.digests import Digest, lookup_digest
from dockyard.domain.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    UploadChangedConcurrently,
    UploadOutOfOrder,
)
from dockyard.storage.base import Observer
from dockyard.storage.names import checked_digest, checked_upload_id, is_upload_id
from dockyard.storage.recent import Recent

_WRITE_BATCH = 1 << 20  # network reads handed to a thread a MiB at a time
_READ_CHUNK = 1 << 20
# Pieces per pwritev call: a client sending tiny chunks fills a batch with thousands.
_IOV_MAX = os.sysconf("SC_IOV_MAX")
# Bytes per write call. Linux gives a write of more than 32 KiB a large page-cache folio
# (ext4, 6.x). Under a hypervisor that reclaims the guest's free memory (virtio-balloon free
# page reporting, Firecracker) those cost far more to fill, most likely because they come
# from the high-order free blocks the host has taken back. Measured on one: 512 MiB written
# in 1 MiB calls took 1.5-5.8 s of system time in 8 runs of 10, in 16-32 KiB calls
# 0.14-0.19 s in 9 of 10.
_MOST_PER_WRITE = 32 << 10
_SEEN_MOST = 4096  # uploads whose file a process remembers


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self._blobs = root / "blobs"
        self._uploads = root / "uploads"
        self._rewrites = root / "rewrites"  # new upload files being filled (``_own``)
        for directory in (self._blobs, self._uploads, self._rewrites):
            directory.mkdir(parents=True, exist_ok=True)
        # The file (inode) this process last wrote or read for each upload.
        self._seen: Recent[int] = Recent(_SEEN_MOST)

    def _path(self, digest: Digest) -> Path:
        digest = checked_digest(digest)
        return self._blobs / digest.algorithm / digest.hex[:2] / digest.hex

    def _upload_path(self, upload_id: str) -> Path:
        return self._uploads / checked_upload_id(upload_id)

    async def size(self, digest: Digest) -> int | None:
        try:
            return (await asyncio.to_thread(os.stat, self._path(digest))).st_size
        except FileNotFoundError:
            return None

    def local_path(self, digest: Digest) -> Path | None:
        return self._path(digest)

    async def presigned_url(self, digest: Digest, expires_in: int) -> str | None:
        checked_digest(digest)
        return None  # no HTTP of its own: the server sends the bytes

    async def read(
        self, digest: Digest, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self._path(digest)
        try:
            async for chunk in _read_file(path, offset, length):
                yield chunk
        except FileNotFoundError:
            raise BlobUnknown(str(digest)) from None

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
        handle = await asyncio.to_thread(_open_at, path, offset, self._rewrites)
        inode = os.fstat(handle.fileno()).st_ino
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
                    at = offset + written - batched
                    pending = asyncio.ensure_future(
                        asyncio.to_thread(_write, handle, at, batch, observe)
                    )
                    batch, batched = [], 0
            if pending is not None:
                await pending
                pending = None
            if batch:
                await asyncio.to_thread(_write, handle, offset + written - batched, batch, observe)
        finally:
            if pending is not None:
                with contextlib.suppress(BaseException):
                    await pending
            await asyncio.to_thread(handle.close)
        self._seen.put(upload_id, inode)
        return written

    async def read_upload(
        self, upload_id: str, length: int, offset: int = 0
    ) -> AsyncIterator[bytes]:
        path = self._upload_path(upload_id)
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        try:
            handle: BinaryIO = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise BlobUploadUnknown(upload_id) from None
        try:
            held = os.fstat(handle.fileno())
            _check_held(upload_id, held.st_size, length)
            self._seen.put(upload_id, held.st_ino)
            async for chunk in _read_handle(handle, offset, max(length - offset, 0)):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        checked = self._seen.get(checked_upload_id(upload_id))
        await asyncio.to_thread(
            self._commit, self._upload_path(upload_id), self._path(digest), size, checked
        )

    def _commit(self, source: Path, target: Path, size: int, checked: int | None) -> None:
        try:
            handle: BinaryIO = open(source, "r+b")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise BlobUploadUnknown(source.name) from None
        try:
            held = os.fstat(handle.fileno())
            if checked is not None and held.st_ino != checked:
                raise UploadChangedConcurrently(source.name)
            _check_held(source.name, held.st_size, size)
            if held.st_size != size:
                handle = _own(handle, source, size, self._rewrites)
            os.fsync(handle.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            # A second name for the very file opened above (not whatever the upload's name
            # holds by now), appearing atomically; the upload keeps its own. A blob already
            # there has the same bytes (same digest): only its time is renewed, unless a
            # delete wins the race in between, when the link is tried again. The blob's
            # modified time is the commit's, not the upload's last write's; the upload
            # shares the file, so stamping it first needs no step after the link.
            os.utime(handle.fileno())
            _link_opened(handle, target, source.name)
        finally:
            handle.close()

    async def abort_upload(self, upload_id: str) -> None:
        self._seen.put(upload_id, None)
        await asyncio.to_thread(_remove_upload, self._upload_path(upload_id), self._rewrites)

    async def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        for path in await asyncio.to_thread(_walk_blobs, self._blobs):
            try:
                stat = await asyncio.to_thread(os.stat, path)
            except FileNotFoundError:
                continue
            yield Digest(path.parent.parent.name, path.name), stat.st_size, stat.st_mtime

    async def uploads(self) -> AsyncIterator[tuple[str, float]]:
        for entry in await asyncio.to_thread(lambda: list(os.scandir(self._uploads))):
            if not is_upload_id(entry.name):
                continue  # not ours: nothing for garbage collection to abort
            with contextlib.suppress(FileNotFoundError):
                yield entry.name, entry.stat().st_mtime


def _walk_blobs(root: Path) -> list[Path]:
    # Only names a blob can have: a stray file (or an older version's staging name,
    # ".<hex>...") is no blob, and garbage collection must not take it for one.
    return [
        p
        for p in root.glob("*/??/*")
        if lookup_digest(f"{p.parent.parent.name}:{p.name}") is not None
        and p.parent.name == p.name[:2]
    ]


def _open_at(path: Path, offset: int, rewrites: Path) -> BinaryIO:
    """The upload's file, ready to write at ``offset``: the file itself when the write
    appends to it, else a new file in its place holding its first ``offset`` bytes."""
    while True:
        try:
            handle: BinaryIO = open(path, "r+b")  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            if offset:
                raise UploadOutOfOrder(path.name, 0, offset) from None
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue  # another request made it first: write to it like any other
            return open(fd, "r+b")
        try:
            held = os.fstat(handle.fileno())
            if offset < 0 or offset > held.st_size:
                raise UploadOutOfOrder(path.name, held.st_size, offset)
            if offset < held.st_size or held.st_nlink > 1:
                handle = _own(handle, path, offset, rewrites)
            handle.seek(offset)
        except BaseException:
            handle.close()
            raise
        return handle


def _own(handle: BinaryIO, path: Path, keep: int, rewrites: Path) -> BinaryIO:
    """A new file in ``path``'s place holding the first ``keep`` bytes of ``handle``'s.

    The old file is left as it was: a blob may share it (a commit links the upload's file
    to the blob's name), or another request may have checked its bytes and be about to
    commit them. A crash in the middle leaves the upload as it was, or short, and a later
    write at the caller's offset is then refused as out of order rather than filling a gap.
    """
    temporary = rewrites / f"{path.name}.{uuid.uuid4().hex[:12]}"
    with handle:
        own = open(temporary, "w+b")  # noqa: SIM115 - returned to the caller
        try:
            handle.seek(0)
            shutil.copyfileobj(_Prefix(handle, keep), own, _READ_CHUNK)
            own.flush()
            os.replace(temporary, path)
        except BaseException:
            own.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    return own


def _link_opened(handle: BinaryIO, target: Path, upload_id: str) -> None:
    """Give the file ``handle`` has open the name ``target`` (linkat through /proc, so the
    link is to that file even if its own name now holds another)."""
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while True:
            try:
                # A directory fd makes os.link use linkat, which follows the /proc link.
                os.link(
                    f"/proc/self/fd/{handle.fileno()}",
                    target.name,
                    dst_dir_fd=directory,
                    follow_symlinks=True,
                )
            except FileExistsError:
                try:
                    os.utime(target)
                except FileNotFoundError:
                    continue
                return
            except FileNotFoundError:
                raise UploadChangedConcurrently(upload_id) from None  # its file was removed
            os.fsync(directory)
            return
    finally:
        os.close(directory)


def _remove_upload(path: Path, rewrites: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    # What a rewrite cut short by a crash left (``_own``'s files; the folder is empty but
    # while a rewrite is being filled).
    for entry in os.scandir(rewrites):
        if entry.name.partition(".")[0] == path.name:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


class _Prefix:
    """The first ``size`` bytes of a file, for ``shutil.copyfileobj``."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle, self._left = handle, size

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(want)
        self._left -= len(data)
        return data


def _check_held(upload_id: str, held: int, wanted: int) -> None:
    if wanted < 0 or wanted > held:
        raise BlobUploadInvalid(f"upload {upload_id} holds {held} bytes, not {wanted}")


def _write(handle: BinaryIO, at: int, batch: list[bytes], observe: Observer) -> None:
    """Write ``batch`` at ``at``: the network's pieces go to the page cache as they are, never
    joined into a copy first, at most ``_MOST_PER_WRITE`` bytes a system call."""
    for piece in batch:
        observe(piece)
    fd = handle.fileno()
    group: list[memoryview] = []
    grouped = 0
    for piece in batch:
        view = memoryview(piece)
        while view:
            part = view[: _MOST_PER_WRITE - grouped]
            view = view[len(part) :]
            group.append(part)
            grouped += len(part)
            if grouped == _MOST_PER_WRITE or len(group) == _IOV_MAX:
                at = _write_all(fd, group, at)
                group, grouped = [], 0
    if group:
        _write_all(fd, group, at)


def _write_all(fd: int, views: list[memoryview], at: int) -> int:
    """pwritev until every view is written (the kernel may take part of a call)."""
    first = 0
    while first < len(views):
        done = os.pwritev(fd, views[first:], at)
        at += done
        while first < len(views) and done >= len(views[first]):
            done -= len(views[first])
            first += 1
        if done:
            views[first] = views[first][done:]
    return at


async def _read_file(path: Path, offset: int, length: int | None) -> AsyncIterator[bytes]:
    if offset < 0 or (length is not None and length < 0):
        raise ValueError(f"bad range: offset {offset}, length {length}")
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        async for chunk in _read_handle(handle, offset, length):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def _read_handle(handle: BinaryIO, offset: int, length: int | None) -> AsyncIterator[bytes]:
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
