"""The contract of storage/base.py, run against every backend in conftest.py."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import AsyncIterator, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    UploadOutOfOrder,
)
from dockyard.storage import BlobStore
from tests.storage.conftest import BACKENDS, Backend

T = TypeVar("T")
UNLIMITED = 1 << 40


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _ignore(_data: bytes) -> None:
    return None


async def _put(store: BlobStore, upload: str, data: bytes, algorithm: str = "sha256") -> Digest:
    digest = Digest.of(data, algorithm)
    await store.write_upload(upload, 0, _chunks([data]), _ignore, UNLIMITED)
    await store.commit_upload(upload, digest, len(data))
    return digest


async def _listed_blobs(store: BlobStore) -> dict[Digest, tuple[int, float]]:
    return {d: (size, modified) async for d, size, modified in store.blobs()}


async def _listed_uploads(store: BlobStore) -> dict[str, float]:
    return {upload: modified async for upload, modified in store.uploads()}


# --- writes at offsets ---------------------------------------------------------------


def test_an_upload_is_invisible_until_committed(store: BlobStore) -> None:
    data = b"x" * 3_000_000
    digest = Digest.of(data)

    async def scenario() -> None:
        hasher = hashlib.sha256()
        written = await store.write_upload(
            "u1", 0, _chunks([data[:10], b"", data[10:]]), hasher.update, UNLIMITED
        )
        assert written == len(data) and hasher.hexdigest() == digest.hex
        assert await store.size(digest) is None
        assert await _listed_blobs(store) == {}
        await store.commit_upload("u1", digest, len(data))
        assert await store.size(digest) == len(data)
        assert await _collect(store.read(digest)) == data

    run(scenario())


def test_writes_in_order_append(store: BlobStore) -> None:
    async def scenario() -> None:
        offset = 0
        for part in (b"one ", b"two ", b"three"):
            offset += await store.write_upload("u", offset, _chunks([part]), _ignore, 100)
        assert offset == 13
        assert await _collect(store.read_upload("u", 13)) == b"one two three"

    run(scenario())


def test_writing_at_an_offset_discards_what_lay_beyond(store: BlobStore) -> None:
    # A chunk cut short by a crash is simply written again from the committed offset.
    async def scenario() -> None:
        await store.write_upload("u2", 0, _chunks([b"hello"]), _ignore, 100)
        await store.write_upload("u2", 5, _chunks([b"-partial-garbage"]), _ignore, 100)
        await store.write_upload("u2", 5, _chunks([b" world"]), _ignore, 100)
        assert await _collect(store.read_upload("u2", 11)) == b"hello world"
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u2", 12))  # the garbage's tail is gone
        digest = Digest.of(b"hello world")
        await store.commit_upload("u2", digest, 11)
        assert await _collect(store.read(digest)) == b"hello world"

    run(scenario())


def test_a_write_past_the_end_is_refused_before_anything_changes(store: BlobStore) -> None:
    async def scenario() -> None:
        with pytest.raises(UploadOutOfOrder):
            await store.write_upload("fresh", 3, _chunks([b"abc"]), _ignore, 100)
        assert "fresh" not in await _listed_uploads(store)
        await store.write_upload("u", 0, _chunks([b"abc"]), _ignore, 100)
        with pytest.raises(UploadOutOfOrder):
            await store.write_upload("u", 4, _chunks([b"gap"]), _ignore, 100)
        assert await _collect(store.read_upload("u", 3)) == b"abc"

    run(scenario())


def test_observe_sees_every_byte_before_it_is_stored(store: BlobStore) -> None:
    seen: list[bytes] = []

    def observe(data: bytes) -> None:
        seen.append(data)

    def refuse(_data: bytes) -> None:
        raise RuntimeError("hasher broke")

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"a", b"bc", b"def"]), observe, 100)
        assert b"".join(seen) == b"abcdef"
        with pytest.raises(RuntimeError):
            await store.write_upload("u", 6, _chunks([b"never stored"]), refuse, 100)
        assert await _collect(store.read_upload("u", 6)) == b"abcdef"
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", 7))  # nothing unobserved was stored

    run(scenario())


def test_many_small_pieces_are_stored_whole_and_in_order(store: BlobStore) -> None:
    # A slow client's body arrives in tiny reads: thousands of pieces per MiB written,
    # more than one system call takes, with pieces of every size around them.
    rng = random.Random(7)
    pieces = [rng.randbytes(rng.choice((1, 2, 3))) for _ in range(5_000)]
    pieces.append(rng.randbytes(1_500_000))
    pieces += [rng.randbytes(rng.choice((1, 700, 65_536))) for _ in range(1_000)]
    data = b"".join(pieces)

    async def scenario() -> None:
        hasher = hashlib.sha256()
        written = await store.write_upload("u", 0, _chunks(pieces), hasher.update, UNLIMITED)
        assert written == len(data)
        assert hasher.digest() == hashlib.sha256(data).digest()
        assert await _collect(store.read_upload("u", len(data))) == data
        more = await store.write_upload("u", len(data), _chunks(pieces[:50]), _ignore, UNLIMITED)
        tail = b"".join(pieces[:50])
        assert more == len(tail)
        assert await _collect(store.read_upload("u", len(data) + more)) == data + tail

    run(scenario())


def test_a_failed_write_keeps_the_bytes_before_its_offset(store: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"XYZ"
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"kept"]), _ignore, 100)
        with pytest.raises(ConnectionResetError):
            await store.write_upload("u", 4, broken(), _ignore, 100)
        assert await _collect(store.read_upload("u", 4)) == b"kept"
        await store.write_upload("u", 4, _chunks([b"+more"]), _ignore, 100)
        assert await _collect(store.read_upload("u", 9)) == b"kept+more"

    run(scenario())


def test_the_limit_counts_the_whole_upload(store: BlobStore) -> None:
    async def scenario() -> None:
        assert await store.write_upload("u", 0, _chunks([b"a" * 10]), _ignore, 10) == 10
        with pytest.raises(BlobTooLarge):
            await store.write_upload("u", 6, _chunks([b"b" * 5]), _ignore, 10)
        with pytest.raises(BlobTooLarge):
            await store.write_upload("v", 0, _chunks([b"a" * 11]), _ignore, 10)

    run(scenario())


@pytest.mark.parametrize(
    "backend",
    [b for b in BACKENDS if b.persistent],  # a memory store keeps nothing across objects
    ids=[b.name for b in BACKENDS if b.persistent],
)
def test_an_upload_resumes_on_a_new_store_object(backend: Backend, place: Path) -> None:
    async def scenario() -> None:
        first = backend.open(place)
        await first.write_upload("u", 0, _chunks([b"before "]), _ignore, 100)
        second = backend.open(place)  # a restart, or another node
        assert "u" in await _listed_uploads(second)
        await second.write_upload("u", 7, _chunks([b"after"]), _ignore, 100)
        assert await _collect(second.read_upload("u", 12)) == b"before after"
        digest = Digest.of(b"before after")
        await second.commit_upload("u", digest, 12)
        assert await _collect(backend.open(place).read(digest)) == b"before after"

    run(scenario())


# --- reading uploads -----------------------------------------------------------------


def test_read_upload_streams_a_prefix(store: BlobStore) -> None:
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"0123456789"]), _ignore, 100)
        assert await _collect(store.read_upload("u", 4)) == b"0123"
        assert await _collect(store.read_upload("u", 10)) == b"0123456789"
        assert await _collect(store.read_upload("u", 0)) == b""

    run(scenario())


def test_read_upload_from_an_offset_across_writes(store: BlobStore) -> None:
    """What the pull-through cache sends a client waiting for a blob still arriving: the
    bytes between what it sent and what the upload holds so far, written in pieces."""

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"0123"]), _ignore, 100)
        await store.write_upload("u", 4, _chunks([b"456789"]), _ignore, 100)
        assert await _collect(store.read_upload("u", 10, 2)) == b"23456789"
        assert await _collect(store.read_upload("u", 7, 4)) == b"456"
        assert await _collect(store.read_upload("u", 10, 10)) == b""

    run(scenario())


def test_read_upload_of_an_unknown_or_short_upload(store: BlobStore) -> None:
    async def scenario() -> None:
        with pytest.raises(BlobUploadUnknown):
            await _collect(store.read_upload("never", 1))
        await store.write_upload("u", 0, _chunks([b"abc"]), _ignore, 100)
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", 4))

    run(scenario())


# --- commits -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_commit_files_bytes_under_either_algorithm(store: BlobStore, algorithm: str) -> None:
    async def scenario() -> None:
        digest = await _put(store, "u", b"layer bytes", algorithm)
        assert digest.algorithm == algorithm
        assert await _collect(store.read(digest)) == b"layer bytes"
        assert (await _listed_blobs(store))[digest][0] == 11

    run(scenario())


def test_the_store_does_not_hash_the_caller_checks_the_digest(store: BlobStore) -> None:
    # The caller hashed the stream through ``observe``; hashing again would read every
    # blob twice. So a digest the content does not match is the caller's bug, filed as told.
    claimed = Digest.of(b"something else")

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"content"]), _ignore, 100)
        await store.commit_upload("u", claimed, 7)
        assert await _collect(store.read(claimed)) == b"content"

    run(scenario())


def test_commit_takes_the_first_size_bytes(store: BlobStore) -> None:
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"headtail"]), _ignore, 100)
        digest = Digest.of(b"head")
        await store.commit_upload("u", digest, 4)
        assert await _collect(store.read(digest)) == b"head"
        assert await store.size(digest) == 4

    run(scenario())


def test_commit_of_more_than_the_upload_holds_is_refused(store: BlobStore) -> None:
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"abc"]), _ignore, 100)
        digest = Digest.of(b"abc\0")
        with pytest.raises(BlobUploadInvalid):
            await store.commit_upload("u", digest, 4)
        assert await store.size(digest) is None
        assert await _listed_blobs(store) == {}

    run(scenario())


def test_commit_of_an_unknown_or_aborted_upload(store: BlobStore) -> None:
    async def scenario() -> None:
        digest = Digest.of(b"abc")
        with pytest.raises(BlobUploadUnknown):
            await store.commit_upload("never", digest, 0)
        await store.write_upload("u", 0, _chunks([b"abc"]), _ignore, 100)
        await store.abort_upload("u")
        with pytest.raises(BlobUploadUnknown):
            await store.commit_upload("u", digest, 3)
        assert await store.size(digest) is None

    run(scenario())


def test_committing_a_digest_already_held_is_idempotent(backend: Backend, store: BlobStore) -> None:
    async def scenario() -> None:
        first = await _put(store, "a1", b"same")
        modified = (await _listed_blobs(store))[first][1]
        await asyncio.sleep(0.05 + backend.clock)
        second = await _put(store, "a2", b"same")
        await store.commit_upload("a2", second, 4)  # the same upload, again
        assert first == second
        listed = await _listed_blobs(store)
        assert list(listed) == [first]
        assert listed[first][0] == 4 and listed[first][1] > modified
        assert await _collect(store.read(first)) == b"same"

    run(scenario())


def test_commit_again_after_the_blob_was_deleted(store: BlobStore) -> None:
    # Garbage collection may sweep the blob before the caller's reference lands.
    async def scenario() -> None:
        digest = await _put(store, "u", b"swept too early")
        await store.delete(digest)
        assert await store.size(digest) is None
        await store.commit_upload("u", digest, 15)
        assert await _collect(store.read(digest)) == b"swept too early"

    run(scenario())


def test_a_committed_blob_never_changes(store: BlobStore) -> None:
    async def scenario() -> None:
        digest = await _put(store, "u", b"immutable")
        await store.write_upload("u", 2, _chunks([b"XXXXXXXX"]), _ignore, 100)
        await store.commit_upload("u", Digest.of(b"imXX"), 4)
        await store.write_upload("u", 0, _chunks([b"rewritten"]), _ignore, 100)
        await store.abort_upload("u")
        assert await _collect(store.read(digest)) == b"immutable"
        assert await _collect(store.read(Digest.of(b"imXX"))) == b"imXX"

    run(scenario())


def test_concurrent_commits_of_one_digest_leave_one_intact_blob(
    backend: Backend, store: BlobStore, place: Path
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    digest = Digest.of(data)
    writers = 8
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []
    seen: set[int] = set()
    done = threading.Event()

    async def push(n: int) -> None:
        await store.write_upload(f"u{n}", 0, _chunks([data]), _ignore, UNLIMITED)
        barrier.wait()
        await store.commit_upload(f"u{n}", digest, len(data))
        await store.abort_upload(f"u{n}")

    async def watch() -> None:
        barrier.wait()
        while not done.is_set():
            try:
                seen.add(len(await _collect(store.read(digest))))
            except BlobUnknown:
                seen.add(-1)

    def thread(coro: Coroutine[Any, Any, None]) -> None:
        try:
            asyncio.run(coro)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=thread, args=(push(n),)) for n in range(writers)]
    reader = threading.Thread(target=thread, args=(watch(),))
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    assert seen <= {-1, len(data)}  # a reader sees no blob or all of it
    assert run(_collect(store.read(digest))) == data
    assert list(run(_listed_blobs(store))) == [digest]
    assert run(_listed_uploads(store)) == {}
    assert len(backend.footprint(store, place)) == 1


def test_commits_racing_deletes_leave_a_whole_blob_or_none(store: BlobStore) -> None:
    data = b"raced" * 1000
    digest = Digest.of(data)
    errors: list[BaseException] = []

    async def commits() -> None:
        await store.write_upload("c", 0, _chunks([data]), _ignore, UNLIMITED)
        for _ in range(200):
            await store.commit_upload("c", digest, len(data))

    async def deletes() -> None:
        for _ in range(200):
            await store.delete(digest)

    def thread(coro: Coroutine[Any, Any, None]) -> None:
        try:
            asyncio.run(coro)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=thread, args=(c,)) for c in (commits(), deletes())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    size = run(store.size(digest))
    assert size in (None, len(data))
    if size is not None:
        assert run(_collect(store.read(digest))) == data


# --- reads ---------------------------------------------------------------------------


def test_reads_of_ranges(store: BlobStore) -> None:
    data = bytes(range(256)) * 10_000  # spans several read chunks

    async def scenario() -> None:
        digest = await _put(store, "u", data)
        assert await _collect(store.read(digest)) == data
        assert await _collect(store.read(digest, 5, 10)) == data[5:15]
        assert await _collect(store.read(digest, 1_500_000)) == data[1_500_000:]
        assert await _collect(store.read(digest, 1_048_570, 20)) == data[1_048_570:1_048_590]
        assert await _collect(store.read(digest, 7, 0)) == b""

    run(scenario())


def test_reads_past_the_end_stop_at_the_end(store: BlobStore) -> None:
    async def scenario() -> None:
        digest = await _put(store, "u", b"0123456789")
        assert await _collect(store.read(digest, 8, 100)) == b"89"
        assert await _collect(store.read(digest, 10)) == b""
        assert await _collect(store.read(digest, 11, 5)) == b""
        with pytest.raises(ValueError):
            await _collect(store.read(digest, -1))
        with pytest.raises(ValueError):
            await _collect(store.read(digest, 0, -1))

    run(scenario())


def test_reads_of_an_unknown_digest(store: BlobStore) -> None:
    async def scenario() -> None:
        digest = Digest.of(b"never stored")
        assert await store.size(digest) is None
        with pytest.raises(BlobUnknown):
            await _collect(store.read(digest))
        with pytest.raises(BlobUnknown):
            await _collect(store.read(digest, 3, 4))
        stored = await _put(store, "u", b"x")
        await store.delete(stored)
        with pytest.raises(BlobUnknown):
            await _collect(store.read(stored))

    run(scenario())


def test_local_path_names_the_blob_when_there_is_one(store: BlobStore) -> None:
    async def scenario() -> None:
        digest = await _put(store, "u", b"sendfile me")
        path = store.local_path(digest)
        if path is not None:
            assert path.read_bytes() == b"sendfile me"

    run(scenario())


def test_a_presigned_url_serves_the_blob_when_there_is_one(store: BlobStore) -> None:
    async def scenario() -> str | None:
        digest = await _put(store, "u", b"fetch me yourself")
        return await store.presigned_url(digest, 60)

    url = run(scenario())
    if url is not None:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == b"fetch me yourself"


def test_zero_byte_blobs(store: BlobStore) -> None:
    async def scenario() -> None:
        empty = Digest.of(b"")
        assert await store.write_upload("u", 0, _chunks([]), _ignore, 100) == 0
        assert "u" in await _listed_uploads(store)
        assert await _collect(store.read_upload("u", 0)) == b""
        await store.commit_upload("u", empty, 0)
        assert await store.size(empty) == 0
        assert await _collect(store.read(empty)) == b""
        assert await _collect(store.read(empty, 0, 10)) == b""
        assert (await _listed_blobs(store))[empty][0] == 0

    run(scenario())


def test_a_large_blob_streams_in_bounded_chunks(backend: Backend, store: BlobStore) -> None:
    piece = hashlib.sha512(b"seed").digest() * 1024  # 64 KiB
    count = 1024  # 64 MiB in all
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(piece)
    digest = Digest("sha256", expected.hexdigest())

    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield piece

    async def scenario() -> int:
        hasher = hashlib.sha256()
        written = await store.write_upload("big", 0, pieces(), hasher.update, UNLIMITED)
        assert written == len(piece) * count and hasher.hexdigest() == digest.hex
        await store.commit_upload("big", digest, written)
        await store.abort_upload("big")
        check, largest = hashlib.sha256(), 0
        async for chunk in store.read(digest):
            largest = max(largest, len(chunk))
            check.update(chunk)
        assert check.hexdigest() == digest.hex
        assert await store.size(digest) == written
        return largest

    if backend.streams:
        tracemalloc.start()
        try:
            largest = run(scenario())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 << 20, f"peak {peak} bytes: the blob was held in memory"
    else:
        largest = run(scenario())
    assert largest <= 4 << 20


# --- deletes -------------------------------------------------------------------------


def test_deletes_are_idempotent_and_leave_uploads_alone(store: BlobStore) -> None:
    async def scenario() -> None:
        await store.delete(Digest.of(b"absent"))
        digest = await _put(store, "u", b"bytes")
        await store.delete(digest)
        await store.delete(digest)
        assert await store.size(digest) is None
        assert await _collect(store.read_upload("u", 5)) == b"bytes"

    run(scenario())


def test_aborts_are_idempotent_and_leave_blobs_alone(store: BlobStore) -> None:
    async def scenario() -> None:
        await store.abort_upload("never-started")
        digest = await _put(store, "u", b"bytes")
        await store.abort_upload("u")
        await store.abort_upload("u")
        assert "u" not in await _listed_uploads(store)
        assert await _collect(store.read(digest)) == b"bytes"

    run(scenario())


# --- listings (garbage collection relies on them) ------------------------------------


def test_listings_of_blobs_and_uploads(store: BlobStore) -> None:
    async def scenario() -> None:
        before = time.time()
        a = await _put(store, "ua", b"a")
        b = await _put(store, "ub", b"bb", "sha512")
        await store.write_upload("open", 0, _chunks([b"partial"]), _ignore, 100)
        after = time.time()
        blobs = await _listed_blobs(store)
        assert {d: size for d, (size, _) in blobs.items()} == {a: 1, b: 2}
        assert all(before - 1 <= modified <= after + 1 for _, modified in blobs.values())
        uploads = await _listed_uploads(store)
        assert set(uploads) == {"ua", "ub", "open"}
        assert all(before - 1 <= modified <= after + 1 for modified in uploads.values())

    run(scenario())


def test_a_blobs_time_is_its_commit_not_its_last_write(backend: Backend, store: BlobStore) -> None:
    # Garbage collection's grace for bytes no row describes starts at the commit.
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"slow push"]), _ignore, 100)
        written = (await _listed_uploads(store))["u"]
        await asyncio.sleep(0.2 + backend.clock)
        digest = Digest.of(b"slow push")
        await store.commit_upload("u", digest, 9)
        assert (await _listed_blobs(store))[digest][1] > written + 0.1

    run(scenario())


def test_an_uploads_time_follows_its_writes(backend: Backend, store: BlobStore) -> None:
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"one"]), _ignore, 100)
        first = (await _listed_uploads(store))["u"]
        await asyncio.sleep(0.2 + backend.clock)
        await store.write_upload("u", 3, _chunks([b"two"]), _ignore, 100)
        assert (await _listed_uploads(store))["u"] > first + 0.1

    run(scenario())


def test_listing_while_blobs_come_and_go(store: BlobStore) -> None:
    async def scenario() -> None:
        digests = [await _put(store, f"u{n}", bytes([n])) for n in range(20)]
        listed = []
        async for digest, _size, _modified in store.blobs():
            listed.append(digest)
            await store.delete(digests[len(listed) % 20])
            await store.abort_upload(f"u{len(listed)}")
        assert set(listed) <= set(digests)

    run(scenario())


# --- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        Digest("sha256", "../../../etc/passwd"),
        Digest("sha256", "ab"),
        Digest("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        Digest("sha256", "A" * 64),
        Digest("sha512", "a" * 64),
    ],
)
def test_names_that_are_not_digests_are_refused(store: BlobStore, bad: Digest) -> None:
    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"x"]), _ignore, 100)
        with pytest.raises(DigestInvalid):
            await store.size(bad)
        with pytest.raises(DigestInvalid):
            await _collect(store.read(bad))
        with pytest.raises(DigestInvalid):
            await store.delete(bad)
        with pytest.raises(DigestInvalid):
            await store.commit_upload("u", bad, 1)
        with pytest.raises(DigestInvalid):
            store.local_path(bad)
        with pytest.raises(DigestInvalid):
            await store.presigned_url(bad, 60)
        assert await _listed_blobs(store) == {}

    run(scenario())


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden", "x" * 129, "spa ce"])
def test_bad_upload_ids_are_refused(store: BlobStore, bad: str) -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError):
            await store.write_upload(bad, 0, _chunks([b"x"]), _ignore, 100)
        with pytest.raises(ValueError):
            await _collect(store.read_upload(bad, 0))
        with pytest.raises(ValueError):
            await store.commit_upload(bad, Digest.of(b"x"), 1)
        with pytest.raises(ValueError):
            await store.abort_upload(bad)

    run(scenario())


# --- nothing left behind -------------------------------------------------------------


def test_nothing_is_left_behind(backend: Backend, store: BlobStore, place: Path) -> None:
    async def scenario() -> None:
        kept = await _put(store, "u1", b"kept")
        await _put(store, "u2", b"gone")
        await store.write_upload("u3", 0, _chunks([b"abandoned"]), _ignore, 100)
        await store.write_upload("u1", 1, _chunks([b"rewritten after commit"]), _ignore, 100)
        with pytest.raises(BlobTooLarge):
            await store.write_upload("u4", 0, _chunks([b"too large"]), _ignore, 3)
        with pytest.raises(BlobUploadInvalid):
            await store.commit_upload("u3", Digest.of(b"nope"), 100)
        for upload in ("u1", "u2", "u3", "u4"):
            await store.abort_upload(upload)
        await store.delete(Digest.of(b"gone"))
        assert len(backend.footprint(store, place)) == 1  # the one blob kept
        assert await _listed_uploads(store) == {}
        await store.delete(kept)
        assert backend.footprint(store, place) == []
        assert await _listed_blobs(store) == {}

    run(scenario())
