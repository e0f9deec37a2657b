"""Choosing a blob store by name: an unknown name is a startup error, never a fallback."""

from __future__ import annotations

from pathlib import Path

from dockyard.storage.base import BlobStore
from dockyard.storage.filesystem import FilesystemBlobStore
from dockyard.storage.memory import MemoryBlobStore

BACKENDS = ("filesystem", "memory")


class UnknownBackend(ValueError):
    pass


def open_blob_store(backend: str, data_dir: Path) -> BlobStore:
    if backend == "filesystem":
        return FilesystemBlobStore(data_dir / "storage")
    if backend == "memory":
        return MemoryBlobStore()  # content is lost at exit; one process only
    raise UnknownBackend(f"unknown storage backend {backend!r} (known: {', '.join(BACKENDS)})")
