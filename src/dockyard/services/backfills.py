"""Backfills (a Dockyard extension): replication of images pushed before the rules that
now cover them. ECR replicates only what is pushed after a rule exists.

A backfill is a row and a ``replication-backfill`` job that walks the registry (one
repository, or those the filters match): every active image of a repository the current
configuration covers is queued as ``replicate-image`` for each of its destinations, and
recorded as an item of the backfill, whose outcome the replication writes when it ends.
A stopped backfill queues nothing more, and its queued replications do not run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dockyard.domain.digests import Digest
from dockyard.domain.errors import NameUnknown
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.replication import (
    Backfill,
    BackfillItem,
    ReplicationConfiguration,
    RepositoryFilter,
)
from dockyard.metadata.backfills import BackfillStore
from dockyard.services.images import Images
from dockyard.services.job_payloads import BackfillPayload
from dockyard.services.jobs import Jobs
from dockyard.services.replication import Replication, payload_for
from dockyard.services.repositories import Repositories
from dockyard.services.threads import blocking

_PAGE = 100


def _now() -> datetime:
    return datetime.now(UTC)


class Backfills:
    def __init__(
        self,
        store: BackfillStore,
        replication: Replication,
        repositories: Repositories,
        images: Images,
        jobs: Jobs,
    ) -> None:
        self._store = store
        self._replication = replication
        self._repositories = repositories
        self._images = images
        self._jobs = jobs

    async def start(
        self,
        scope: Scope,
        repository: RepositoryName | None,
        filters: Sequence[RepositoryFilter],
    ) -> Backfill:
        """Queue the replication of images already in the registry that the current
        configuration covers (within ``repository``, or repositories ``filters`` match)."""
        if repository is not None:
            await self._repositories.get(RepositoryKey(scope, repository))  # or NameUnknown
        backfill_id = str(uuid.uuid4())
        await blocking(self._store.create_backfill, backfill_id, scope, repository, filters, _now())
        await self._jobs.enqueue(BackfillPayload(scope.account_id, scope.region, backfill_id))
        return await self.get(scope, backfill_id)

    async def stop(self, scope: Scope, backfill_id: str) -> Backfill:
        return await blocking(self._store.stop, scope, backfill_id, _now())

    async def get(self, scope: Scope, backfill_id: str) -> Backfill:
        return await blocking(self._store.backfill, scope, backfill_id)

    async def listing(self, scope: Scope, after: str | None, limit: int) -> list[Backfill]:
        return await blocking(self._store.backfills, scope, after, limit)

    async def results(
        self, scope: Scope, backfill_id: str, offset: int, limit: int
    ) -> tuple[Backfill, list[BackfillItem]]:
        found = await self.get(scope, backfill_id)
        return found, await blocking(self._store.items, scope, backfill_id, offset, limit)

    async def walk(self, payload: BackfillPayload) -> dict[str, Any]:
        """The backfill job: every active image of every repository it covers, queued for
        each destination of the current configuration. Run again (a lease taken over), it
        queues nothing twice for the backfill (its items are recorded once each)."""
        scope = Scope(payload.account_id, payload.region)
        backfill = await self.get(scope, payload.backfill_id)
        config = await self._replication.configuration(scope)
        queued = 0
        names = [backfill.repository] if backfill.repository else await self._names(scope)
        for name in names:
            if await blocking(self._store.is_stopped, backfill.id):
                break
            if backfill.filters and not any(f.matches(name) for f in backfill.filters):
                continue
            if not config.destinations_for(name):
                continue
            key = RepositoryKey(scope, name)
            queued += await self._backfill_repository(backfill.id, key, config)
        await blocking(self._store.walked, backfill.id, _now())
        return {"queued": queued}

    async def _names(self, scope: Scope) -> list[RepositoryName]:
        names: list[RepositoryName] = []
        after: str | None = None
        while True:
            page = await self._repositories.listing(scope, after, _PAGE)
            names += [r.key.name for r in page]
            if len(page) < _PAGE:
                return names
            after = page[-1].key.name.value

    async def _backfill_repository(
        self, backfill_id: str, key: RepositoryKey, config: ReplicationConfiguration
    ) -> int:
        queued = 0
        after: int | None = None
        while True:
            try:
                page, after = await self._images.page(key, None, after, _PAGE)
            except NameUnknown:
                return queued  # deleted meanwhile
            # Each image where the rules send it (tag filters look at its tags).
            found = [
                (key.name, str(i.digest), d) for i in page for d in config.targets(key.name, i.tags)
            ]
            added = await blocking(self._store.add_items, backfill_id, found, _now())
            if added:
                for _, digest, destination in found:
                    await self._jobs.enqueue(
                        payload_for(key, Digest.parse(digest), destination, backfill_id)
                    )
                queued += len(found)
            if after is None:
                return queued
