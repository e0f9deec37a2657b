"""Every blob-store backend the contract suite runs against, as one fixture parameter.

A backend is a way to open a store (again, over the same place, for a persistent
one) and to list what it holds underneath the interface, for "nothing left behind".
An S3 backend is one more ``Backend`` here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.storage import BlobStore, open_blob_store
from dockyard.storage.memory import MemoryBlobStore


@dataclass(frozen=True)
class Backend:
    name: str
    persistent: bool  # a new store object over the same place sees the same content
    streams: bool  # holds no blob in memory (bounded memory for large blobs)
    opener: Callable[[Path], BlobStore]
    footprint: Callable[[BlobStore, Path], list[str]]  # everything held, beneath the interface

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
