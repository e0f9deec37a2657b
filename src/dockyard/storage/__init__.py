"""Blob stores: raw bytes behind one small, content-addressed interface."""

from dockyard.storage.base import BlobStore
from dockyard.storage.factory import open_blob_store

__all__ = ["BlobStore", "open_blob_store"]
