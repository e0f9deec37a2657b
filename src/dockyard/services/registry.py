"""The registry facade the adapters talk to.

It resolves names into repository keys in the configured (account, region),
applies create-on-push, and hands the work to the focused services.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Page, RepositoryKey, Scope
from dockyard.metadata import Metadata
from dockyard.services.blobs import Blobs
from dockyard.services.deletion import Deleter
from dockyard.services.manifests import Manifests
from dockyard.services.threads import blocking
from dockyard.services.uploads import Uploads
from dockyard.storage import BlobStore


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    account_id: str
    region: str
    create_on_push: bool
    max_manifest_bytes: int
    max_blob_bytes: int
    idempotent_immutable_repush: bool = False


class Registry:
    def __init__(self, settings: RegistrySettings, metadata: Metadata, store: BlobStore) -> None:
        self.settings = settings
        self.scope = Scope(settings.account_id, settings.region)
        self._metadata = metadata
        self.blobs = Blobs(metadata.content, store)
        self.uploads = Uploads(metadata.content, store, settings.max_blob_bytes)
        self.manifests = Manifests(
            metadata.content, settings.max_manifest_bytes, settings.idempotent_immutable_repush
        )
        self.deleter = Deleter(metadata.content)

    def key(self, name: str) -> RepositoryKey:
        return RepositoryKey(self.scope, RepositoryName.parse(name))

    async def key_for_push(self, name: str) -> RepositoryKey:
        """The key of a repository about to be written, created first if the settings allow."""
        key = self.key(name)
        if self.settings.create_on_push:
            await blocking(self._metadata.repositories.ensure, key)
        return key

    async def catalog(self, last: str | None, limit: int | None) -> Page:
        return await blocking(self._metadata.repositories.names, self.scope, last, limit)

    def close(self) -> None:
        self._metadata.close()
