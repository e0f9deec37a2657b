"""What a store saw last of each upload in this process, for its commit to check against
(stores run their work in threads, and an upload may end in another process, so the map
is locked and bounded: the longest untouched entries go first)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    def __init__(self, most: int) -> None:
        self._most = most
        self._seen: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, upload_id: str) -> T | None:
        with self._lock:
            return self._seen.get(upload_id)

    def put(self, upload_id: str, value: T | None) -> None:
        """Remember ``value`` for the upload (None: forget it)."""
        with self._lock:
            self._seen.pop(upload_id, None)
            if value is not None:
                self._seen[upload_id] = value
                while len(self._seen) > self._most:
                    del self._seen[next(iter(self._seen))]
