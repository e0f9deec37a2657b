"""Every blob-store backend the contract suite runs against, as one fixture parameter.

A backend is a way to open a store (again, over the same place, for a persistent
one) and to list what it holds underneath the interface, for "nothing left behind".
The s3 backend runs against the session's SeaweedFS (tests/support/seaweed.py), each
test under a key prefix of its own (made from its place), its footprint the keys there.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.storage import BlobStore, open_blob_store
from dockyard.storage.memory import MemoryBlobStore
from dockyard.storage.s3 import S3BlobStore
from dockyard.storage.s3config import S3Config
from tests.support import seaweed


@dataclass(frozen=True)
class Backend:
    name: str
    persistent: bool  # a new store object over the same place sees the same content
    streams: bool  # holds no blob in memory (bounded memory for large blobs)
    opener: Callable[[Path], BlobStore]
    footprint: Callable[[BlobStore, Path], list[str]]  # everything held, beneath the interface
    clock: float = 0.0  # resolution of the times it lists, in seconds (S3 keeps a second)

    def open(self, place: Path) -> BlobStore:
        return self.opener(place)


def _files(_store: BlobStore, place: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), place)
        for folder, _dirs, names in os.walk(place)
        for name in names
    )


def _memory_contents(store: BlobStore, _place: Path) -> list[str]:
    assert isinstance(store, MemoryBlobStore)
    return [str(d) for d in store._blobs] + list(store._uploads)


def s3_prefix(place: Path) -> str:
    """The key prefix standing for ``place``: the same for the same place (a persistent store
    opened again), another for every test."""
    return "contract-" + hashlib.sha256(str(place).encode()).hexdigest()[:16] + "/"


def s3_config(place: Path, **overrides: object) -> S3Config:
    server = seaweed.shared_seaweed()
    return S3Config(
        bucket=seaweed.BUCKET,
        prefix=s3_prefix(place),
        endpoint_url=server.endpoint,
        region=seaweed.REGION,
        access_key_id=seaweed.ACCESS_KEY,
        secret_access_key=seaweed.SECRET_KEY,
        **overrides,  # type: ignore[arg-type]
    )


def _open_s3(place: Path) -> BlobStore:
    return S3BlobStore(s3_config(place))


def _s3_keys(_store: BlobStore, place: Path) -> list[str]:
    return seaweed.shared_seaweed().keys(s3_prefix(place))


BACKENDS = [
    Backend(
        "filesystem",
        persistent=True,
        streams=True,
        opener=lambda place: open_blob_store("filesystem", place),
        footprint=_files,
    ),
    Backend(
        "memory",
        persistent=False,
        streams=False,
        opener=lambda _place: open_blob_store("memory", Path()),
        footprint=_memory_contents,
    ),
    Backend(
        "s3",
        persistent=True,
        streams=True,
        opener=_open_s3,
        footprint=_s3_keys,
        clock=1.0,
    ),
]


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.param
    return backend


@pytest.fixture
def place(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(backend: Backend, place: Path) -> BlobStore:
    return backend.open(place)
