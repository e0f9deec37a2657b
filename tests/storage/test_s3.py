"""What the S3 store adds to the contract: OCI chunks of any size mapped onto S3's parts,
uploads continued by another node, bounded memory, presigned URLs, the bucket itself.

Run against the session's SeaweedFS (tests/support/seaweed.py) with real SigV4 credentials.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import tracemalloc
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.errors import BlobTooLarge, BlobUploadInvalid, UploadOutOfOrder
from dockyard.storage import open_blob_store
from dockyard.storage.s3 import MAX_PARTS, MIN_PART, S3BlobStore
from dockyard.storage.s3config import S3Config, S3Unavailable
from tests.storage.conftest import s3_config, s3_prefix
from tests.support import seaweed

MiB = 1 << 20
P = MIN_PART  # the stores here use S3's smallest part size, so the boundaries are 5 MiB


@pytest.fixture
def place(tmp_path: Path) -> Path:
    return tmp_path / "s3"


def open_store(place: Path, part_size: int = P) -> S3BlobStore:
    return S3BlobStore(s3_config(place, part_size=part_size))


def keys(place: Path) -> list[str]:
    return seaweed.shared_seaweed().keys(s3_prefix(place))


def sizes(place: Path) -> dict[str, int]:
    """Every object under the place's prefix and its size."""
    client = seaweed.shared_seaweed().client()
    prefix = s3_prefix(place)
    found: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=seaweed.BUCKET, Prefix=prefix
    ):
        for entry in page.get("Contents", []):
            found[entry["Key"][len(prefix) :]] = entry["Size"]
    return found


def data_of(size: int, seed: str) -> bytes:
    """``size`` bytes that differ at every offset (a misplaced range shows)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _ignore(_data: bytes) -> None:
    return None


UNLIMITED = 1 << 40


# --- chunks of any size --------------------------------------------------------------------


@pytest.mark.parametrize("part_size", [P, 10 * MiB], ids=["5MiB-parts", "10MiB-parts"])
def test_chunks_of_every_size_make_one_blob(place: Path, part_size: int) -> None:
    # OCI chunks as PATCH requests would bring them: 1 byte, 3 MiB, 5 MiB - 1, 5 MiB,
    # 5 MiB + 1, 12 MiB, again 1 byte; each one request, each at the upload's end.
    lengths = [1, 3 * MiB, P - 1, P, P + 1, 12 * MiB, 1, 2 * MiB + 7]
    blob = data_of(sum(lengths), "mixed")
    digest = Digest.of(blob)
    store = open_store(place, part_size)

    async def scenario() -> None:
        hasher = hashlib.sha256()
        offset = 0
        for length in lengths:
            piece = blob[offset : offset + length]
            # Within a request, network reads of uneven sizes too.
            reads = [piece[i : i + 70_001] for i in range(0, len(piece), 70_001)]
            offset += await store.write_upload(
                "mixed", offset, _chunks(reads), hasher.update, UNLIMITED
            )
        assert offset == len(blob) and hasher.hexdigest() == digest.hex
        stored = sizes(place)
        parts = {k: v for k, v in stored.items() if "/part-" in k}
        tails = {k: v for k, v in stored.items() if "/tail-" in k}
        assert len(parts) == len(blob) // part_size
        assert set(parts.values()) == {part_size}  # every part S3 would take, but the last
        assert list(tails.values()) == [len(blob) % part_size]
        assert await _collect(store.read_upload("mixed", len(blob))) == blob
        await store.commit_upload("mixed", digest, len(blob))
        assert await store.size(digest) == len(blob)
        assert hashlib.sha256(await _collect(store.read(digest))).hexdigest() == digest.hex
        await store.abort_upload("mixed")
        assert keys(place) == [f"blobs/sha256/{digest.hex[:2]}/{digest.hex}"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "size",
    [1, P - 1, P, P + 1, 2 * P, 2 * P + 3],
    ids=["1", "part-1", "part", "part+1", "2parts", "2parts+3"],
)
def test_commits_of_every_shape(place: Path, size: int) -> None:
    # One whole object (a CopyObject), a cut one or several (a multipart copy).
    blob = data_of(2 * P + 3, "shapes")
    store = open_store(place)

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([blob]), _ignore, UNLIMITED)
        digest = Digest.of(blob[:size])
        await store.commit_upload("u", digest, size)
        assert await _collect(store.read(digest)) == blob[:size]
        assert await _collect(store.read(digest, size - 1)) == blob[size - 1 : size]
        await store.abort_upload("u")
        await store.delete(digest)
        assert keys(place) == []

    asyncio.run(scenario())


# --- rewrites at an offset ---------------------------------------------------------------


def test_a_rewrite_inside_an_uploaded_part_keeps_its_head(place: Path) -> None:
    # 23 MiB: parts 0-3 stored, a 3 MiB tail; then the client starts again at 7 MiB,
    # inside part 1, and sends 4 MiB of other bytes.
    first = data_of(23 * MiB, "first")
    second = data_of(4 * MiB, "second")
    cut = 7 * MiB
    expected = first[:cut] + second
    store = open_store(place)

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([first]), _ignore, UNLIMITED)
        before = Digest.of(first)
        await store.commit_upload("u", before, len(first))
        await store.write_upload("u", cut, _chunks([second]), _ignore, UNLIMITED)
        assert await _collect(store.read_upload("u", len(expected))) == expected
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", len(expected) + 1))
        # 11 MiB now: parts 0 and 1, a 1 MiB tail; parts 2 and 3 and the old tail are gone.
        uploaded = sorted(k for k in sizes(place) if k.startswith("uploads/"))
        assert [k.rsplit("/", 1)[1][:5] for k in uploaded] == ["part-", "part-", "state", "tail-"]
        after = Digest.of(expected)
        await store.commit_upload("u", after, len(expected))
        assert await _collect(store.read(after)) == expected
        assert await _collect(store.read(before)) == first  # a committed blob never changes
        # Back into part 0, nothing sent: the upload is cut to 2 MiB.
        await store.write_upload("u", 2 * MiB, _chunks([]), _ignore, UNLIMITED)
        assert await _collect(store.read_upload("u", 2 * MiB)) == first[: 2 * MiB]
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", 2 * MiB + 1))
        await store.abort_upload("u")
        assert len(keys(place)) == 2  # the two blobs

    asyncio.run(scenario())


def test_a_write_that_fails_midway_leaves_the_upload_as_it_was(place: Path) -> None:
    held = data_of(12 * MiB, "held")
    store = open_store(place)

    async def broken() -> AsyncIterator[bytes]:
        yield data_of(9 * MiB, "lost")  # fills part 2 (stored) and part of part 3
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([held]), _ignore, UNLIMITED)
        with pytest.raises(ConnectionResetError):
            await store.write_upload("u", len(held), broken(), _ignore, UNLIMITED)
        assert await _collect(store.read_upload("u", len(held))) == held
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", len(held) + 1))
        more = data_of(MiB, "more")
        await store.write_upload("u", len(held), _chunks([more]), _ignore, UNLIMITED)
        assert await _collect(store.read_upload("u", len(held) + MiB)) == held + more
        with pytest.raises(UploadOutOfOrder):
            await store.write_upload("u", len(held) + MiB + 1, _chunks([b"x"]), _ignore, UNLIMITED)
        await store.abort_upload("u")  # the failed write's part object goes too
        assert keys(place) == []

    asyncio.run(scenario())


def test_an_upload_whose_first_write_was_cut_off_is_listed_and_aborted(place: Path) -> None:
    # A node killed after storing a new upload's first objects and before its state:
    # garbage collection finds the upload by what is left of it.
    store = open_store(place)
    client = seaweed.shared_seaweed().client()
    prefix = s3_prefix(place)
    left = ["uploads/cut/part-00000-0123456789abcdef", "uploads/cut/tail-fedcba9876543210"]
    for key in left:
        client.put_object(Bucket=seaweed.BUCKET, Key=prefix + key, Body=b"bytes")

    async def scenario() -> None:
        await store.write_upload("whole", 0, _chunks([b"real"]), _ignore, 100)
        assert [u async for u, _ in store.uploads()] == ["cut", "whole"]
        await store.abort_upload("cut")
        await store.abort_upload("whole")
        assert [u async for u, _ in store.uploads()] == []
        assert keys(place) == []

    asyncio.run(scenario())


def test_the_limit_is_checked_before_a_byte_past_it_is_stored(place: Path) -> None:
    store = open_store(place)

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([b"a" * P]), _ignore, P + 10)
        with pytest.raises(BlobTooLarge):
            await store.write_upload("u", P, _chunks([b"b" * 5, b"c" * 6]), _ignore, P + 10)
        assert await _collect(store.read_upload("u", P)) == b"a" * P
        with pytest.raises(BlobUploadInvalid):
            await _collect(store.read_upload("u", P + 1))
        await store.abort_upload("u")

    asyncio.run(scenario())
    assert MAX_PARTS * P < 1 << 40  # S3's 10,000 parts cap what one upload can hold


# --- another node ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [MiB, P + MiB], ids=["tail", "part-and-tail"])
def test_a_commit_copies_the_bytes_its_node_checked_not_a_later_write(
    place: Path, size: int
) -> None:
    # Two clients writing one upload through two nodes at once: node A checks the digest of
    # what it wrote, node B writes the upload again from the start before A commits. A's
    # commit must put A's bytes under A's digest, or refuse; never B's bytes.
    mine, theirs = data_of(size, "mine"), data_of(size, "theirs")
    digest = Digest.of(mine)
    a, b = open_store(place), open_store(place)

    async def scenario() -> None:
        await a.write_upload("u", 0, _chunks([mine]), _ignore, UNLIMITED)
        await b.write_upload("u", 0, _chunks([theirs]), _ignore, UNLIMITED)
        try:
            await a.commit_upload("u", digest, size)
        except BlobUploadInvalid:
            assert await a.size(digest) is None
        else:
            assert await _collect(a.read(digest)) == mine
        await b.abort_upload("u")

    asyncio.run(scenario())


def test_nodes_take_turns_on_one_upload(place: Path) -> None:
    # Every request through a different store object (a different node, no shared memory):
    # the upload's state lives in the bucket.
    lengths = [3 * MiB, 4 * MiB, 1, P + 1, 6 * MiB]
    blob = data_of(sum(lengths), "nodes")
    digest = Digest.of(blob)

    async def scenario() -> None:
        offset = 0
        for length in lengths:
            node = open_store(place)
            piece = blob[offset : offset + length]
            offset += await node.write_upload(
                "shared", offset, _chunks([piece]), _ignore, UNLIMITED
            )
        listed = {u async for u, _ in open_store(place).uploads()}
        assert listed == {"shared"}
        # Another node re-hashes it (as after a restart) and commits; a fourth aborts.
        hasher = hashlib.sha256()
        async for chunk in open_store(place).read_upload("shared", len(blob)):
            hasher.update(chunk)
        assert hasher.hexdigest() == digest.hex
        await open_store(place).commit_upload("shared", digest, len(blob))
        await open_store(place).abort_upload("shared")
        assert await _collect(open_store(place).read(digest)) == blob

    asyncio.run(scenario())


@pytest.mark.parametrize("held_size", [P, 6 * MiB], ids=["at-a-part-boundary", "in-a-part"])
def test_two_nodes_writing_one_upload_at_once_do_not_mix(place: Path, held_size: int) -> None:
    # A client retries a PATCH through another node while the first still runs: both
    # writes start from the same state; the second to finish is refused, not mixed in.
    held = data_of(held_size, "held")
    first, second = data_of(7 * MiB, "first"), data_of(7 * MiB, "second")
    store = open_store(place)

    async def scenario() -> None:
        await store.write_upload("u", 0, _chunks([held]), _ignore, UNLIMITED)
        first_done = asyncio.Event()

        async def late() -> AsyncIterator[bytes]:
            await first_done.wait()
            yield second

        async def early() -> int:
            try:
                return await open_store(place).write_upload(
                    "u", len(held), _chunks([first]), _ignore, UNLIMITED
                )
            finally:
                first_done.set()

        slow = asyncio.ensure_future(
            open_store(place).write_upload("u", len(held), late(), _ignore, UNLIMITED)
        )
        assert await early() == len(first)
        with pytest.raises(BlobUploadInvalid, match="changed concurrently"):
            await slow
        total = len(held) + len(first)
        assert await _collect(store.read_upload("u", total)) == held + first
        await store.abort_upload("u")
        assert keys(place) == []

    asyncio.run(scenario())


# --- memory ------------------------------------------------------------------------------


def test_a_large_chunked_upload_in_bounded_memory(place: Path) -> None:
    # 64 MiB in OCI chunks of 7 MiB that straddle the 5 MiB parts, committed by a multipart
    # copy and read back: at no point is more than a few MiB in this process's memory.
    piece = hashlib.sha512(b"seed").digest() * 1024  # 64 KiB
    total = 64 * MiB
    chunk = 7 * MiB
    expected = hashlib.sha256()
    for _ in range(total // len(piece)):
        expected.update(piece)
    digest = Digest("sha256", expected.hexdigest())
    store = open_store(place)

    async def request(length: int) -> AsyncIterator[bytes]:
        for _ in range(length // len(piece)):
            yield piece

    async def scenario() -> None:
        offset = 0
        while offset < total:
            length = min(chunk, total - offset)
            offset += await store.write_upload("big", offset, request(length), _ignore, UNLIMITED)
        await store.commit_upload("big", digest, total)
        await store.abort_upload("big")
        check = hashlib.sha256()
        async for data in store.read(digest):
            check.update(data)
        assert check.hexdigest() == digest.hex

    tracemalloc.start()
    try:
        asyncio.run(scenario())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, f"peak {peak} bytes: the blob was held in memory"


# --- presigned URLs, listings, the bucket ---------------------------------------------------


def test_a_presigned_url_serves_the_blob_and_nothing_else(place: Path) -> None:
    store = open_store(place)
    blob = data_of(3 * MiB, "presigned")

    async def scenario() -> tuple[Digest, str, str]:
        await store.write_upload("u", 0, _chunks([blob]), _ignore, UNLIMITED)
        digest = Digest.of(blob)
        await store.commit_upload("u", digest, len(blob))
        await store.abort_upload("u")
        url = await store.presigned_url(digest, 60)
        other = await store.presigned_url(Digest.of(b"absent"), 60)
        assert url is not None and other is not None
        return digest, url, other

    digest, url, other = asyncio.run(scenario())
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == blob
    with pytest.raises(urllib.error.HTTPError) as absent:
        urllib.request.urlopen(other, timeout=30)
    assert absent.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as forged:  # the signature covers the key
        urllib.request.urlopen(url.replace(digest.hex, Digest.of(b"absent").hex), timeout=30)
    assert forged.value.code == 403
    off = S3BlobStore(s3_config(place, presign=False))
    assert asyncio.run(off.presigned_url(digest, 60)) is None


def test_listings_skip_what_is_not_the_stores(place: Path) -> None:
    store = open_store(place)
    client = seaweed.shared_seaweed().client()
    prefix = s3_prefix(place)
    for stray in ("blobs/sha256/ab/not-a-digest", "blobs/sha256/zz/" + "ab" * 32, "uploads/x/y"):
        client.put_object(Bucket=seaweed.BUCKET, Key=prefix + stray, Body=b"stray")

    async def scenario() -> None:
        digest = Digest.of(b"real")
        await store.write_upload("u", 0, _chunks([b"real"]), _ignore, 100)
        await store.commit_upload("u", digest, 4)
        assert [d async for d, _, _ in store.blobs()] == [digest]
        assert [u async for u, _ in store.uploads()] == ["u"]

    asyncio.run(scenario())


def test_the_bucket_is_made_at_first_start(tmp_path: Path) -> None:
    server = seaweed.shared_seaweed()
    bucket = f"fresh-{uuid.uuid4().hex[:12]}"
    config = S3Config(
        bucket=bucket,
        prefix="dockyard/",
        endpoint_url=server.endpoint,
        region=seaweed.REGION,
        access_key_id=seaweed.ACCESS_KEY,
        secret_access_key=seaweed.SECRET_KEY,
    )
    store = open_blob_store("s3", tmp_path, config)
    open_blob_store("s3", tmp_path, config)  # a second start finds it there

    async def scenario() -> None:
        digest = Digest.of(b"first")
        await store.write_upload("u", 0, _chunks([b"first"]), _ignore, 100)
        await store.commit_upload("u", digest, 5)
        assert await store.size(digest) == 5

    asyncio.run(scenario())
    client: Any = server.client()
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert {entry["Key"].split("/")[1] for entry in listed} == {"blobs", "uploads"}
    assert not (tmp_path / "storage").exists()
    with pytest.raises(S3Unavailable):
        open_blob_store("s3", tmp_path, dataclasses.replace(config, secret_access_key="wrong"))
