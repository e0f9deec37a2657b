"""When images were last pulled (``lastRecordedPullTime``), without a write per pull.

Pulls are noted in memory and written in batches: by a background flush every few
seconds, and before anything reads them on this node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import ImageStore
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0


class Pulls:
    def __init__(self, images: ImageStore) -> None:
        self._images = images
        self._pending: dict[tuple[RepositoryKey, Digest], datetime] = {}

    def note(self, key: RepositoryKey, digest: Digest) -> None:
        self._pending[(key, digest)] = datetime.now(UTC)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        await blocking(self._images.record_pulls, batch)

    async def run(self) -> None:
        """Flush periodically until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    await self.flush()
                except Exception:
                    log.exception("recording pull times failed; will retry")
        finally:
            with contextlib.suppress(Exception):
                await self.flush()
