"""Creating, describing and configuring repositories."""

from __future__ import annotations

import dataclasses
import uuid

from dockyard.domain.errors import InvalidRequest, ResourceTagInvalid, TooManyTags
from dockyard.domain.immutability import MutabilityRule
from dockyard.domain.records import Repository, RepositoryConfig, RepositoryKey, Scope
from dockyard.metadata import RepositoryStore
from dockyard.services.threads import blocking

MAX_RESOURCE_TAGS = 50
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
_MANAGED_KEY_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "dockyard:kms:aws/ecr")


def managed_key_arn(scope: Scope) -> str:
    """The key ECR names for KMS encryption without a kmsKey: the account's AWS-managed
    ``aws/ecr`` key, reported by its key ARN. Dockyard does not encrypt with it yet, so the
    key id is made up, but stable per account and region, as the real one is."""
    key_id = uuid.uuid5(_MANAGED_KEY_IDS, f"{scope.account_id}/{scope.region}")
    return f"arn:aws:kms:{scope.region}:{scope.account_id}:key/{key_id}"


def check_config(config: RepositoryConfig) -> None:
    problems = config.mutability.problems()
    if config.encryption_type not in ENCRYPTION_TYPES:
        problems.append(f"encryptionType must be one of {', '.join(ENCRYPTION_TYPES)}")
    if config.kms_key and config.encryption_type == "AES256":
        problems.append("kmsKey can only be given with encryptionType KMS or KMS_DSSE")
    if problems:
        raise InvalidRequest("; ".join(problems))


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_RESOURCE_TAGS:
        raise TooManyTags(MAX_RESOURCE_TAGS)
    for key, value in tags.items():
        # botocore's model leaves these limits out; ECR documents them.
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise ResourceTagInvalid(
                f"tag keys must be 1 to {MAX_TAG_KEY} characters: {key[:40]!r}"
            )
        if len(value) > MAX_TAG_VALUE:
            raise ResourceTagInvalid(f"tag values must be at most {MAX_TAG_VALUE} characters")


class Repositories:
    def __init__(self, store: RepositoryStore) -> None:
        self._store = store

    async def create(
        self,
        key: RepositoryKey,
        config: RepositoryConfig,
        resource_tags: dict[str, str],
        *,
        repository_policy: str | None = None,
        lifecycle_policy: str | None = None,
    ) -> Repository:
        """A new repository; the policies (a creation template's, checked when the
        template was stored) come with it in one transaction."""
        check_config(config)
        check_tags(resource_tags)
        if config.encryption_type != "AES256" and not config.kms_key:
            config = dataclasses.replace(config, kms_key=managed_key_arn(key.scope))
        return await blocking(
            self._store.create,
            key,
            config,
            resource_tags,
            repository_policy=repository_policy,
            lifecycle_policy=lifecycle_policy,
        )

    async def exists(self, key: RepositoryKey) -> bool:
        return await blocking(self._store.exists, key)

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
        check_tags(merged)
        await blocking(self._store.set_tags, key, merged)

    async def untag(self, key: RepositoryKey, keys: list[str]) -> None:
        current = await self.get(key)
        removed = set(keys)
        kept = {k: v for k, v in current.tags.items() if k not in removed}
        await blocking(self._store.set_tags, key, kept)
