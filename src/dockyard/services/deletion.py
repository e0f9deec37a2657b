"""Every delete in the registry goes through ``delete``.

One door, so that what later hangs off deletes (trash and undelete, events,
audit, storage accounting) is added in one place and cannot be bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.domain.digests import Digest
from dockyard.domain.names import Tag
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import ContentStore
from dockyard.services.threads import blocking


@dataclass(frozen=True, slots=True)
class TagTarget:
    repository: RepositoryKey
    tag: Tag


@dataclass(frozen=True, slots=True)
class ManifestTarget:
    repository: RepositoryKey
    digest: Digest


@dataclass(frozen=True, slots=True)
class BlobLinkTarget:
    """A repository's hold on a blob; the bytes go when nothing holds them (GC)."""

    repository: RepositoryKey
    digest: Digest


DeleteTarget = TagTarget | ManifestTarget | BlobLinkTarget


class Deleter:
    def __init__(self, metadata: ContentStore) -> None:
        self._metadata = metadata

    async def delete(self, target: DeleteTarget) -> None:
        match target:
            case TagTarget(repository, tag):
                await blocking(self._metadata.delete_tag, repository, tag)
            case ManifestTarget(repository, digest):
                await blocking(self._metadata.delete_manifest, repository, digest)
            case BlobLinkTarget(repository, digest):
                await blocking(self._metadata.unlink_blob, repository, digest)
