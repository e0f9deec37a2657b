"""The contract every blob store keeps; each backend runs the same suite."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.errors import BlobTooLarge
from dockyard.storage import BlobStore, open_blob_store

BACKENDS = ["filesystem"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return open_blob_store(request.param, tmp_path)


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def _hashing() -> tuple[Callable[[bytes], None], Callable[[], str]]:
    hasher = hashlib.sha256()
    return hasher.update, hasher.hexdigest


def test_an_upload_is_invisible_until_committed(store: BlobStore) -> None:
    data = b"x" * 3_000_000
    digest = Digest.of(data)

    async def scenario() -> None:
        observe, hexdigest = _hashing()
        written = await store.write_upload(
            "u1", 0, _chunks([data[:10], data[10:]]), observe, 1 << 30
        )
        assert written == len(data) and hexdigest() == digest.hex
        assert await store.size(digest) is None
        await store.commit_upload("u1", digest, len(data))
        assert await store.size(digest) == len(data)
        assert await _collect(store.read(digest)) == data
        assert await _collect(store.read(digest, 5, 10)) == data[5:15]

    run(scenario())


def test_writing_at_an_offset_discards_what_lay_beyond(store: BlobStore) -> None:
    # A chunk cut short by a crash is simply written again from the committed offset.
    async def scenario() -> None:
        await store.write_upload("u2", 0, _chunks([b"hello"]), lambda _: None, 100)
        await store.write_upload("u2", 5, _chunks([b"-partial-garbage"]), lambda _: None, 100)
        await store.write_upload("u2", 5, _chunks([b" world"]), lambda _: None, 100)
        assert await _collect(store.read_upload("u2", 11)) == b"hello world"
        digest = Digest.of(b"hello world")
        await store.commit_upload("u2", digest, 11)
        assert await _collect(store.read(digest)) == b"hello world"

    run(scenario())


def test_limits_and_aborts(store: BlobStore) -> None:
    async def scenario() -> None:
        with pytest.raises(BlobTooLarge):
            await store.write_upload("u3", 0, _chunks([b"a" * 11]), lambda _: None, 10)
        await store.abort_upload("u3")
        await store.abort_upload("never-started")  # not an error
        await store.delete(Digest.of(b"absent"))  # not an error

    run(scenario())


def test_committing_the_same_content_twice_keeps_one_blob(store: BlobStore) -> None:
    digest = Digest.of(b"same")

    async def scenario() -> None:
        for upload in ("a1", "a2"):
            await store.write_upload(upload, 0, _chunks([b"same"]), lambda _: None, 100)
            await store.commit_upload(upload, digest, 4)
        assert await _collect(store.read(digest)) == b"same"
        await store.delete(digest)
        assert await store.size(digest) is None

    run(scenario())
