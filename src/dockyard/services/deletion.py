"""Every delete in the registry goes through ``Deleter.delete``.

One door, so that what later hangs off deletes (trash and undelete, events,
audit, storage accounting) is added in one place and cannot be bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

from dockyard.domain.cache_rules import CacheRule
from dockyard.domain.digests import Digest
from dockyard.domain.errors import SecretNotFound
from dockyard.domain.names import Tag
from dockyard.domain.records import Repository, RepositoryKey, Scope
from dockyard.metadata import CacheRuleStore, ContentStore, RepositoryStore, SecretStore
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


@dataclass(frozen=True, slots=True)
class CacheRuleTarget:
    """A pull-through cache rule; the repositories cached under it stay."""

    scope: Scope
    prefix: str


@dataclass(frozen=True, slots=True)
class SecretTarget:
    """A Secrets Manager secret and every version of it, at once (DeleteSecret's
    ForceDeleteWithoutRecovery; a scheduled deletion is no delete until its date)."""

    scope: Scope
    name: str


ContentTarget = TagTarget | ManifestTarget | BlobLinkTarget | RepositoryTarget | SecretTarget
DeleteTarget = ContentTarget | CacheRuleTarget


class Deleter:
    def __init__(
        self,
        content: ContentStore,
        repositories: RepositoryStore,
        cache_rules: CacheRuleStore,
        secrets: SecretStore,
    ) -> None:
        self._content = content
        self._repositories = repositories
        self._cache_rules = cache_rules
        self._secrets = secrets

    @overload
    async def delete(self, target: CacheRuleTarget) -> CacheRule: ...

    @overload
    async def delete(self, target: ContentTarget) -> Repository | None: ...

    async def delete(self, target: DeleteTarget) -> Repository | CacheRule | None:
        """Delete one thing; a deleted repository or rule is returned as it was."""
        match target:
            case CacheRuleTarget(scope, prefix):
                return await blocking(self._cache_rules.delete, scope, prefix)
            case SecretTarget(scope, name):
                if not await blocking(self._secrets.purge, scope, name):
                    raise SecretNotFound(name)
            case TagTarget(repository, tag):
                await blocking(self._content.delete_tag, repository, tag)
            case ManifestTarget(repository, digest):
                await blocking(self._content.delete_manifest, repository, digest)
            case BlobLinkTarget(repository, digest):
                await blocking(self._content.unlink_blob, repository, digest)
            case RepositoryTarget(repository, force):
                return await blocking(self._repositories.delete, repository, force)
        return None
