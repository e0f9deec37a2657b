"""Creating, describing and configuring repositories."""

from __future__ import annotations

from dockyard.domain.errors import InvalidRequest, TooManyTags
from dockyard.domain.immutability import MutabilityRule
from dockyard.domain.records import Repository, RepositoryConfig, RepositoryKey, Scope
from dockyard.metadata import RepositoryStore
from dockyard.services.threads import blocking

MAX_RESOURCE_TAGS = 50
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")


def check_config(config: RepositoryConfig) -> None:
    problems = config.mutability.problems()
    if config.encryption_type not in ENCRYPTION_TYPES:
        problems.append(f"encryptionType must be one of {', '.join(ENCRYPTION_TYPES)}")
    if config.kms_key and config.encryption_type == "AES256":
        problems.append("kmsKey can only be given with encryptionType KMS or KMS_DSSE")
    if problems:
        raise InvalidRequest("; ".join(problems))


class Repositories:
    def __init__(self, store: RepositoryStore) -> None:
        self._store = store

    async def create(
        self, key: RepositoryKey, config: RepositoryConfig, resource_tags: dict[str, str]
    ) -> Repository:
        check_config(config)
        if len(resource_tags) > MAX_RESOURCE_TAGS:
            raise TooManyTags(MAX_RESOURCE_TAGS)
        return await blocking(self._store.create, key, config, resource_tags)

    async def get(self, key: RepositoryKey) -> Repository:
        return await blocking(self._store.get, key)

    async def listing(self, scope: Scope, after: str | None, limit: int | None) -> list[Repository]:
        return await blocking(self._store.list, scope, after, limit)

    async def set_mutability(self, key: RepositoryKey, rule: MutabilityRule) -> Repository:
        current = await self.get(key)
        config = RepositoryConfig(
            mutability=rule,
            scan_on_push=current.config.scan_on_push,
            encryption_type=current.config.encryption_type,
            kms_key=current.config.kms_key,
        )
        check_config(config)
        return await blocking(self._store.update_config, key, config)

    async def tag(self, key: RepositoryKey, added: dict[str, str]) -> None:
        current = await self.get(key)
        merged = {**current.tags, **added}
        if len(merged) > MAX_RESOURCE_TAGS:
            raise TooManyTags(MAX_RESOURCE_TAGS)
        await blocking(self._store.set_tags, key, merged)

    async def untag(self, key: RepositoryKey, keys: list[str]) -> None:
        current = await self.get(key)
        removed = set(keys)
        kept = {k: v for k, v in current.tags.items() if k not in removed}
        await blocking(self._store.set_tags, key, kept)
