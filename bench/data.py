"""Test data: large pseudo-random blobs made on the fly, and small unique images."""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)

BLOCK_SIZE = 8 << 20
_PREFIX = 32


def sha256_digest(data: bytes | memoryview) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobSource:
    """A large blob that is never held in memory: one 8 MiB random block, repeated, with a
    32-byte prefix (seed + chunk index) overwritten per chunk so no two chunks are equal.

    Chunks are yielded as (prefix, view-of-the-rest) pairs so nothing is copied.
    """

    def __init__(self, size: int, seed: int, block: bytes) -> None:
        if len(block) != BLOCK_SIZE:
            raise ValueError("block must be 8 MiB")
        self.size = size
        self.seed = seed
        self._block = block
        self._rest = memoryview(block)[_PREFIX:]
        self._digest: str | None = None

    @property
    def n_chunks(self) -> int:
        return (self.size + BLOCK_SIZE - 1) // BLOCK_SIZE

    def chunk(self, i: int) -> tuple[bytes, memoryview]:
        """Pieces of chunk i (each chunk is BLOCK_SIZE bytes except perhaps the last)."""
        length = min(BLOCK_SIZE, self.size - i * BLOCK_SIZE)
        prefix = struct.pack(">QQ", self.seed, i) * 2
        if length <= _PREFIX:
            return prefix[:length], self._rest[:0]
        return prefix, self._rest[: length - _PREFIX]

    def matches(self, offset: int, data: bytes | bytearray | memoryview) -> bool:
        """Whether `data` is this blob's bytes from `offset` on: every byte compared (memcmp,
        about ten times faster than sha256 here), so that checking a pull does not set its pace.
        """
        view = memoryview(data)
        while view:
            i, within = divmod(offset, BLOCK_SIZE)
            if i >= self.n_chunks:
                return False
            n = min(len(view), self.chunk_len(i) - within)
            head = max(0, min(n, _PREFIX - within))
            if head and view[:head] != self.chunk(i)[0][within : within + head]:
                return False
            if not self._block.startswith(view[head:n], within + head):
                return False
            view, offset = view[n:], offset + n
        return True

    def chunk_len(self, i: int) -> int:
        return min(BLOCK_SIZE, self.size - i * BLOCK_SIZE)

    def pieces(self) -> Iterator[bytes | memoryview]:
        for i in range(self.n_chunks):
            yield from self.chunk(i)

    def digest(self) -> str:
        """sha256 of the whole blob (computed once, by generating it: not part of any timing)."""
        if self._digest is None:
            h = hashlib.sha256()
            for p in self.pieces():
                h.update(p)
            self._digest = "sha256:" + h.hexdigest()
        return self._digest


def random_block(seed: int) -> bytes:
    return random.Random(seed).randbytes(BLOCK_SIZE)


@dataclass(frozen=True)
class Blob:
    data: bytes
    digest: str
    media_type: str


@dataclass(frozen=True)
class Image:
    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes
    manifest_digest: str


def make_image(tag: str, n_layers: int, rng: random.Random, min_size: int, max_size: int) -> Image:
    """A small OCI image whose config and layers are unique (random bytes, unique config)."""
    layers = []
    for _ in range(n_layers):
        data = os.urandom(rng.randint(min_size, max_size))
        layers.append(Blob(data, sha256_digest(data), OCI_LAYER))
    config_obj = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"bench.tag": tag, "bench.nonce": os.urandom(8).hex()}},
        "rootfs": {"type": "layers", "diff_ids": [b.digest for b in layers]},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    config_data = json.dumps(config_obj, separators=(",", ":")).encode()
    config = Blob(config_data, sha256_digest(config_data), OCI_CONFIG)
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": len(config.data)},
        "layers": [
            {"mediaType": b.media_type, "digest": b.digest, "size": len(b.data)} for b in layers
        ],
    }
    manifest = json.dumps(manifest_obj, indent=3).encode()
    return Image(config, tuple(layers), manifest, sha256_digest(manifest))
