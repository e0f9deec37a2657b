"""Repository and registry policies: kept, checked, and handed to the authorizer.

A policy is checked before it is stored (the policy language's own parser, as a resource
policy) and every change through this process drops the authorizer's cached decisions, so
it applies to the next request; other nodes see it within the cache's second.
"""

from __future__ import annotations

from dockyard.domain.errors import (
    InvalidRequest,
    RegistryPolicyNotFound,
    RepositoryPolicyNotFound,
)
from dockyard.domain.identity import Principal
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata import PolicyStore, PolicyText
from dockyard.services.authorization import Authorizer, check_resource_policy, repository_target
from dockyard.services.threads import blocking

MAX_POLICY_CHARS = 10_240  # botocore: RepositoryPolicyText and RegistryPolicyText


def check_policy_text(text: str) -> str:
    """``text`` if it is a valid repository or registry policy; InvalidRequest otherwise."""
    if not text or len(text) > MAX_POLICY_CHARS:
        raise InvalidRequest(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
            f"'Member must have length less than or equal to {MAX_POLICY_CHARS}'"
        )
    problem = check_resource_policy(text)
    if problem is not None:
        raise InvalidRequest(
            f"Invalid parameter at 'PolicyText' failed to satisfy constraint: '{problem}'"
        )
    return text


class ResourcePolicies:
    def __init__(self, store: PolicyStore, authz: Authorizer) -> None:
        self._store = store
        self._authz = authz

    # Repository policies -------------------------------------------------

    async def set_repository_policy(
        self, key: RepositoryKey, text: str, *, force: bool, setter: Principal | None
    ) -> PolicyText:
        """Store ``text`` as the repository's policy. Unless ``force``, a policy that would
        stop ``setter`` from setting another one is refused (ECR's guard against locking
        oneself out)."""
        check_policy_text(text)
        if not force and setter is not None:
            target = repository_target("ecr:SetRepositoryPolicy", key)
            if not await self._authz.allowed_under(setter, target, text):
                raise InvalidRequest(
                    "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                    "'The policy would prevent you from setting the repository policy again; "
                    "use force to set it anyway'"
                )
        stored = await blocking(self._store.set_repository_policy, key, text)
        self._authz.forget()
        return stored

    async def repository_policy(self, key: RepositoryKey) -> PolicyText:
        found = await blocking(self._store.repository_policy, key)
        if found is None:
            raise RepositoryPolicyNotFound(key.name.value, key.scope.account_id)
        return found

    async def delete_repository_policy(self, key: RepositoryKey) -> PolicyText:
        found = await blocking(self._store.delete_repository_policy, key)
        if found is None:
            raise RepositoryPolicyNotFound(key.name.value, key.scope.account_id)
        self._authz.forget()
        return found

    # Registry policies ---------------------------------------------------

    async def put_registry_policy(self, scope: Scope, text: str) -> PolicyText:
        check_policy_text(text)
        stored = await blocking(self._store.put_registry_policy, scope, text)
        self._authz.forget()
        return stored

    async def registry_policy(self, scope: Scope) -> PolicyText:
        found = await blocking(self._store.registry_policy, scope)
        if found is None:
            raise RegistryPolicyNotFound(scope.account_id)
        return found

    async def delete_registry_policy(self, scope: Scope) -> PolicyText:
        found = await blocking(self._store.delete_registry_policy, scope)
        if found is None:
            raise RegistryPolicyNotFound(scope.account_id)
        self._authz.forget()
        return found
