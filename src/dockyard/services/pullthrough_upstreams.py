"""The upstream side of the pull-through cache: which repository of which registry a
cached repository mirrors, a client for it (the remote package's, the one way Dockyard
talks to another registry), and the client's failures as the cache's outcomes.

A cached repository ``<ecrRepositoryPrefix>/<rest>`` mirrors ``<rest>`` upstream, or
``<upstreamRepositoryPrefix>/<rest>`` when the rule has one; a ``ROOT`` rule mirrors the
whole name. Docker Hub's single names gain ``library/`` (``resolve_repository``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dockyard.domain.cache_rules import ROOT, CacheRule
from dockyard.domain.errors import UpstreamFailed, UpstreamUnavailable
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope
from dockyard.remote import (
    ClientOptions,
    Credentials,
    RemoteError,
    RemoteRateLimited,
    RemoteUnavailable,
    resolve_repository,
)
from dockyard.services.cache_rules import CacheRules

if TYPE_CHECKING:
    from dockyard.remote import RegistryClient

__all__ = ["Upstream", "Upstreams", "translate"]

# A client (its connections, its tokens) is kept this long, then made again: a rotated
# secret is picked up within it.
_CLIENT_SECONDS = 300.0

_RuleVersion = tuple[str | None, datetime]  # a rule's credential and when it last changed


@dataclass(frozen=True, slots=True)
class Upstream:
    """One cached repository's upstream: the client and the name it knows the repository by."""

    client: RegistryClient
    repository: str
    host: str

    def what(self, reference: str) -> str:
        return f"{self.host}/{self.repository}{'@' if ':' in reference else ':'}{reference}"


def upstream_name(rule: CacheRule, name: RepositoryName) -> str:
    """The upstream repository a cached repository ``name`` mirrors."""
    if rule.prefix == ROOT:
        return name.value
    rest = name.value[len(rule.prefix) + 1 :]
    return f"{rule.upstream_prefix}/{rest}" if rule.upstream_prefix else rest


def translate(exc: RemoteError, host: str, what: str) -> Exception:
    """The cache's error for a failed upstream request (not-found answers are the caller's:
    they become the ordinary unknown-manifest or unknown-blob answers)."""
    if isinstance(exc, RemoteUnavailable):
        reason = exc.message
        if isinstance(exc, RemoteRateLimited) and exc.retry_after is not None:
            reason += f" (retry after {exc.retry_after:.0f} s)"
        return UpstreamUnavailable(host, what, reason)
    return UpstreamFailed(host, what, exc.message)


class Upstreams:
    def __init__(self, rules: CacheRules, timeout: float) -> None:
        self._rules = rules
        self._options = ClientOptions(
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
            max_connections=32,
            user_agent="dockyard-pull-through-cache",
        )
        # Per rule: when its client was made, for which version of the rule, and the client.
        self._clients: dict[tuple[Scope, str], tuple[float, _RuleVersion, RegistryClient]] = {}

    async def of(self, scope: Scope, rule: CacheRule, name: RepositoryName) -> Upstream:
        remote = resolve_repository(rule.upstream.base_url, upstream_name(rule, name))
        client = await self._client(scope, rule, remote.base_url)
        return Upstream(client, remote.repository, client.registry)

    async def _client(self, scope: Scope, rule: CacheRule, base_url: str) -> RegistryClient:
        # One client per rule as it stands: an updated rule (a new credential) replaces it.
        key, version = (scope, rule.prefix), (rule.credential_arn, rule.updated_at)
        now = time.monotonic()
        held = self._clients.get(key)
        if held is not None and held[1] == version and now - held[0] < _CLIENT_SECONDS:
            return held[2]
        from dockyard.remote import RegistryClient  # its HTTP stack loads on first use

        found = await self._rules.credentials(scope, rule)
        credentials = None if found is None else Credentials(found.username, found.access_token)
        client = RegistryClient(base_url, credentials, self._options)
        # What is there now: the client replaced, or one a concurrent request just made.
        replaced = self._clients.get(key)
        self._clients[key] = (now, version, client)
        if replaced is not None:
            # Requests in flight on it finish first.
            asyncio.get_running_loop().call_later(
                self._options.read_timeout * 2, _close_soon, replaced[2]
            )
        return client


def _close_soon(client: RegistryClient) -> None:
    task = asyncio.ensure_future(client.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[None]] = set()
