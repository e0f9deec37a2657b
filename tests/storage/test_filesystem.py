"""What only the filesystem store can get wrong: files beside its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from dockyard.domain.digests import Digest
from dockyard.domain.errors import BlobUploadInvalid
from dockyard.storage.filesystem import FilesystemBlobStore


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


def test_stray_files_are_not_listed_as_blobs_or_uploads(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    digest = Digest.of(b"real")

    async def scenario() -> tuple[list[Digest], list[str]]:
        await store.write_upload("u", 0, _single(b"real"), lambda _: None, 100)
        await store.commit_upload("u", digest, 4)
        blob = store.local_path(digest)
        assert blob is not None
        # What a crash of an older version, an editor or an operator may leave there.
        (blob.parent / f".{digest.hex}.123.456").write_bytes(b"staging")
        (blob.parent / "notes.txt").write_bytes(b"x")
        (tmp_path / "blobs" / "sha256" / "zz").mkdir()
        (tmp_path / "blobs" / "sha256" / "zz" / ("0" * 64)).write_bytes(b"misfiled")
        (tmp_path / "uploads" / ".swp").write_bytes(b"x")
        blobs = [d async for d, _size, _modified in store.blobs()]
        uploads = [u async for u, _modified in store.uploads()]
        return blobs, uploads

    assert asyncio.run(scenario()) == ([digest], ["u"])


def test_a_commit_links_the_bytes_its_process_checked_not_a_later_write(tmp_path: Path) -> None:
    # Two requests on one upload through two workers (two store objects, one directory):
    # worker A checks the digest of what it wrote, worker B writes the upload again from
    # the start before A commits. A's commit must put A's bytes under A's digest, or refuse.
    mine, theirs = b"mine " * 50_000, b"THEIRS" * 50_000
    digest = Digest.of(mine)
    a, b = FilesystemBlobStore(tmp_path), FilesystemBlobStore(tmp_path)

    async def scenario() -> None:
        await a.write_upload("u", 0, _single(mine), lambda _: None, 1 << 30)
        await b.write_upload("u", 0, _single(theirs), lambda _: None, 1 << 30)
        try:
            await a.commit_upload("u", digest, len(mine))
        except BlobUploadInvalid:
            assert await a.size(digest) is None
        else:
            blob = a.local_path(digest)
            assert blob is not None and blob.read_bytes() == mine
        # B's own upload is whole, and commits under its digest.
        await b.commit_upload("u", Digest.of(theirs), len(theirs))
        path = b.local_path(Digest.of(theirs))
        assert path is not None and path.read_bytes() == theirs

    asyncio.run(scenario())
