"""Choosing a blob store by name: an unknown name is a startup error, never a fallback."""

from __future__ import annotations

from pathlib import Path

from dockyard.storage.base import BlobStore
from dockyard.storage.filesystem import FilesystemBlobStore
from dockyard.storage.memory import MemoryBlobStore
from dockyard.storage.s3config import S3Config

BACKENDS = ("filesystem", "s3", "memory")


class UnknownBackend(ValueError):
    pass


def open_blob_store(backend: str, data_dir: Path, s3: S3Config | None = None) -> BlobStore:
    """The store ``backend`` names; ``s3`` says where an s3 store keeps its objects.

    An s3 store's bucket is created when it does not exist yet (a first start), and its
    access checked, so a wrong endpoint or credentials fail here rather than on a push.
    """
    if backend == "filesystem":
        return FilesystemBlobStore(data_dir / "storage")
    if backend == "memory":
        return MemoryBlobStore()  # content is lost at exit; one process only
    if backend == "s3":
        if s3 is None or not s3.bucket:
            raise UnknownBackend("the s3 storage backend needs a bucket (s3_bucket)")
        from dockyard.storage.s3 import S3BlobStore  # botocore: only where s3 is the backend

        store = S3BlobStore(s3)
        store.ensure_bucket()
        return store
    raise UnknownBackend(f"unknown storage backend {backend!r} (known: {', '.join(BACKENDS)})")
