"""What only the filesystem store can get wrong: files beside its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from dockyard.domain.digests import Digest
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
