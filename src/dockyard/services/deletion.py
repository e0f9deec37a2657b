"""Every delete in the registry goes through ``Deleter.delete``.

One door, so that what later hangs off deletes (trash and undelete, events,
audit, storage accounting) is added in one place and cannot be bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.domain.digests import Digest
from dockyard.domain.names import Tag
from dockyard.domain.records import Repository, RepositoryKey
from dockyard.metadata import ContentStore, RepositoryStore
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


@dataclass(frozen=True, slots=True)
class RepositoryTarget:
    repository: RepositoryKey
    force: bool


DeleteTarget = TagTarget | ManifestTarget | BlobLinkTarget | RepositoryTarget


class Deleter:
    def __init__(self, content: ContentStore, repositories: RepositoryStore) -> None:
        self._content = content
        self._repositories = repositories

    async def delete(self, target: DeleteTarget) -> Repository | None:
        """Delete one thing; a deleted repository is returned as it was."""
        match target:
            case TagTarget(repository, tag):
                await blocking(self._content.delete_tag, repository, tag)
            case ManifestTarget(repository, digest):
                await blocking(self._content.delete_manifest, repository, digest)
            case BlobLinkTarget(repository, digest):
                await blocking(self._content.unlink_blob, repository, digest)
            case RepositoryTarget(repository, force):
                return await blocking(self._repositories.delete, repository, force)
        return None
