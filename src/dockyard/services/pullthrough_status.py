"""What ``dockyard cache status`` shows: per pull-through cache rule, pulls served from the
cache (hits), pulls that went upstream (misses), upstream failures, and the bytes its
repositories hold (each blob once per repository, as ``dockyard usage`` counts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from dockyard.domain.cache_rules import rule_for
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata.cache_data import CacheDataStore
from dockyard.services.cache_rules import CacheRules
from dockyard.services.repositories import Repositories
from dockyard.services.threads import blocking

__all__ = ["CacheStatus", "RuleStatus"]


@dataclass(frozen=True, slots=True)
class RuleStatus:
    scope: Scope
    prefix: str
    upstream: str
    hits: int
    misses: int
    upstream_errors: int
    last_error: str | None
    last_error_at: datetime | None
    repositories: int
    bytes_stored: int


class CacheStatus:
    def __init__(
        self,
        store: CacheDataStore,
        rules: CacheRules,
        repositories: Repositories,
        scopes: Callable[[], Awaitable[list[Scope]]],
        storage_of: Callable[[RepositoryKey], Awaitable[int]],
    ) -> None:
        self._store = store
        self._rules = rules
        self._repositories = repositories
        self._scopes = scopes
        self._storage_of = storage_of

    async def status(
        self, account_id: str | None = None, region: str | None = None
    ) -> list[RuleStatus]:
        """Every rule of every registry (of one account, or one region, if given)."""
        counters = {(c.scope, c.prefix): c for c in await blocking(self._store.counters)}
        scopes = {s for s in await self._scopes()} | {scope for scope, _ in counters}
        found: list[RuleStatus] = []
        for scope in sorted(scopes, key=lambda s: (s.account_id, s.region)):
            if account_id not in (None, scope.account_id) or region not in (None, scope.region):
                continue
            rules = await self._rules.describe(scope, None, None, None)
            if not rules:
                continue
            held: dict[str, tuple[int, int]] = {rule.prefix: (0, 0) for rule in rules}
            for repository in await self._repositories.listing(scope, None, None):
                rule = rule_for(rules, repository.key.name)
                if rule is not None:
                    count, size = held[rule.prefix]
                    held[rule.prefix] = (count + 1, size + await self._storage_of(repository.key))
            for rule in rules:
                c = counters.get((scope, rule.prefix))
                count, size = held[rule.prefix]
                found.append(
                    RuleStatus(
                        scope,
                        rule.prefix,
                        rule.upstream.url,
                        c.hits if c else 0,
                        c.misses if c else 0,
                        c.upstream_errors if c else 0,
                        c.last_error if c else None,
                        c.last_error_at if c else None,
                        count,
                        size,
                    )
                )
        return found
