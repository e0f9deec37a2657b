"""Every delete in the registry goes through ``Deleter.delete``.

One door, so that what later hangs off deletes (trash and undelete, events,
audit, storage accounting) is added in one place and cannot be bypassed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import overload

from dockyard.domain.cache_rules import CacheRule
from dockyard.domain.digests import Digest
from dockyard.domain.errors import SecretNotFound
from dockyard.domain.external import ExternalRegistry
from dockyard.domain.names import Tag
from dockyard.domain.records import Repository, RepositoryKey, Scope
from dockyard.metadata import (
    CacheRuleStore,
    ContentStore,
    ExternalRegistryStore,
    RepositoryStore,
    SecretStore,
)
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class ExternalRegistryTarget:
    """An external registry's registration (a replication destination outside the
    deployment); what was replicated to it stays there."""

    scope: Scope
    name: str


ContentTarget = TagTarget | ManifestTarget | BlobLinkTarget | RepositoryTarget | SecretTarget
DeleteTarget = ContentTarget | CacheRuleTarget | ExternalRegistryTarget
#: Called after each delete that succeeded, with what was deleted (delete propagation).
DeleteHook = Callable[[DeleteTarget], Awaitable[None]]


class Deleter:
    def __init__(
        self,
        content: ContentStore,
        repositories: RepositoryStore,
        cache_rules: CacheRuleStore,
        secrets: SecretStore,
        external: ExternalRegistryStore,
    ) -> None:
        self._content = content
        self._repositories = repositories
        self._cache_rules = cache_rules
        self._secrets = secrets
        self._external = external
        self._after: list[DeleteHook] = []

    def after_delete(self, hook: DeleteHook) -> None:
        """Call ``hook`` after every delete that succeeded (delete propagation)."""
        self._after.append(hook)

    @overload
    async def delete(self, target: CacheRuleTarget) -> CacheRule: ...

    @overload
    async def delete(self, target: ExternalRegistryTarget) -> ExternalRegistry: ...

    @overload
    async def delete(self, target: ContentTarget) -> Repository | None: ...

    async def delete(
        self, target: DeleteTarget
    ) -> Repository | CacheRule | ExternalRegistry | None:
        """Delete one thing; a deleted repository, rule or registration is returned as it
        was."""
        deleted = await self._delete(target)
        for hook in self._after:
            try:
                await hook(target)
            except Exception:  # the delete stands; what hangs off it must not undo it
                log.exception("after deleting %s", type(target).__name__)
        return deleted

    async def _delete(
        self, target: DeleteTarget
    ) -> Repository | CacheRule | ExternalRegistry | None:
        match target:
            case CacheRuleTarget(scope, prefix):
                return await blocking(self._cache_rules.delete, scope, prefix)
            case ExternalRegistryTarget(scope, name):
                return await blocking(self._external.delete, scope, name)
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
