"""The bench's blob pull checks every byte by comparing instead of hashing: these tests show
the comparison and the socket it reads from catch what a digest check would, against both
real registries."""

from __future__ import annotations

import asyncio
import random

import pytest
from bench.data import BLOCK_SIZE, BlobSource, random_block
from bench.httpclient import HTTPClient
from bench.registry import RegistryError, upload_post_put
from bench.workloads import _pull_once

from tests.support.servers import Registry

SIZE = 2 * BLOCK_SIZE + 1234  # two whole chunks and a short one


@pytest.fixture(scope="module")
def block() -> bytes:
    return random_block(7)


def test_matches_every_slice_and_no_altered_one(block: bytes) -> None:
    src = BlobSource(SIZE, 11, block)
    whole = b"".join(bytes(p) for p in src.pieces())
    rng = random.Random(5)
    for _ in range(500):
        start = rng.randrange(SIZE)
        end = min(SIZE, start + rng.choice([1, 31, 32, 33, 4096, BLOCK_SIZE + 17]))
        assert src.matches(start, whole[start:end])
        altered = bytearray(whole[start:end])
        altered[rng.randrange(len(altered))] ^= 0x40
        assert not src.matches(start, altered)
    # Right bytes at the wrong place (the chunk's index is in its prefix), and past the end.
    assert not src.matches(BLOCK_SIZE, whole[:64])
    assert not src.matches(SIZE - 2, b"\0\0\0")


def test_pull_checks_what_the_registry_sends(registry: Registry, block: bytes) -> None:
    pushed = BlobSource(SIZE, 12, block)
    other = BlobSource(SIZE, 13, block)  # same size and shape, other bytes
    port = int(registry.host.rsplit(":", 1)[1])
    repo = f"bench/pull-check-{registry.kind}"

    async def scenario() -> None:
        async with HTTPClient("127.0.0.1", port, 1, 60) as c:
            await upload_post_put(c, repo, pushed.digest(), pushed.pieces(), pushed.size, 60)
            await _pull_once(c, repo, pushed, 60)
            # The digest in the URL is the pushed blob's, the bytes expected are another's.
            other._digest = pushed.digest()
            with pytest.raises(RegistryError, match="BYTES DIFFER"):
                await _pull_once(c, repo, other, 60)
            missing = BlobSource(SIZE, 14, block)
            with pytest.raises(RegistryError, match="HTTP 404"):
                await _pull_once(c, repo, missing, 60)

    asyncio.run(scenario())
