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
from dockyard.metadata import ImageStore, LifecycleStore
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0


class Pulls:
    def __init__(self, images: ImageStore, lifecycle: LifecycleStore) -> None:
        self._images = images
        self._lifecycle = lifecycle
        self._pending: dict[tuple[RepositoryKey, Digest, str | None], datetime] = {}

    def note(self, key: RepositoryKey, digest: Digest, principal_arn: str | None) -> None:
        self._pending[(key, digest, principal_arn)] = datetime.now(UTC)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        excluded = await blocking(self._lifecycle.all_excluded)
        latest: dict[tuple[RepositoryKey, Digest], datetime] = {}
        for (key, digest, arn), when in batch.items():
            if (key.scope.account_id, key.scope.region, arn) in excluded:
                continue  # RegisterPullTimeUpdateExclusion: this principal's pulls don't count
            latest[(key, digest)] = max(when, latest.get((key, digest), when))
        if latest:
            await blocking(self._images.record_pulls, latest)

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
