"""A mark that moves whenever something cached decisions depend on changes.

Policy decisions and verified keys are cached per process for a second. A
change made through one process (a policy put, a key disabled) must not be
ignored for that second by the other processes of the node — the next request
may well land on another worker. So every change moves this mark, kept in a
small shared-memory file in the data directory, and a cache entry is good only
while the mark still reads what it read when the entry was made. Reading it is
a memory load: no system call, no database round trip on the hot path.

Other nodes (which have their own data directories) see a change when their
entries expire, as with IAM's own eventual consistency.
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
from pathlib import Path

_FORMAT = "<Q"
_SIZE = struct.calcsize(_FORMAT)


class ChangeMark:
    def __init__(self, path: Path | None = None) -> None:
        """``path`` shares the mark with every process using it; None keeps it private."""
        if path is None:
            self._map: mmap.mmap | bytearray = bytearray(_SIZE)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def read(self) -> int:
        value: int = struct.unpack_from(_FORMAT, self._map)[0]
        return value

    def move(self) -> None:
        """Tell every process sharing the mark that what it cached may be stale.

        A random value rather than an increment: readers only ask "did it move?",
        and two processes moving it at once need no lock to both be seen.
        """
        struct.pack_into(_FORMAT, self._map, 0, secrets.randbits(64))
