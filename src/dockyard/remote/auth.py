"""Authenticating to another registry the way its ``WWW-Authenticate`` challenge asks.

* no challenge: anonymous;
* ``Basic``: the username and password, on every request once the remote asked for them;
* ``Bearer realm=...,service=...,scope=...``: the distribution token flow. A token is fetched
  from the realm (with Basic credentials when there are some, anonymously otherwise) for
  the scopes a request needs, cached per scope until ``expires_in`` runs out, and fetched
  again once when the registry refuses it.

Credentials and tokens never appear in a message, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from dockyard.remote.errors import (
    RemoteInvalidResponse,
    RemoteRateLimited,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnauthorized,
    RemoteUnreachable,
    parse_retry_after,
)
from dockyard.remote.options import Credentials

__all__ = ["Authenticator", "Challenge", "Credentials", "Scopes", "parse_challenges"]

# The distribution token spec's default lifetime when a token answer does not say.
DEFAULT_TOKEN_SECONDS = 60
# Stop using a token this long before it expires, so that it does not lapse in flight.
EXPIRY_MARGIN_SECONDS = 10

Scopes = tuple[str, ...]  # e.g. ("repository:team/app:pull,push",); () for the /v2/ ping


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lowercase: "basic", "bearer", ...
    params: dict[str, str]


# One element of a challenge list: a bare token (a scheme) or a ``name=value`` parameter.
_ITEM = re.compile(
    r"""\s*(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+)
        (?:\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s,"]*))?
        \s*(?:,|$)?""",
    re.VERBOSE,
)


def parse_challenges(values: Sequence[str]) -> list[Challenge]:
    """The challenges of ``WWW-Authenticate`` header values (RFC 7235's auth-params)."""
    found: list[Challenge] = []
    for value in values:
        position = 0
        while position < len(value):
            match = _ITEM.match(value, position)
            if match is None or match.end() == position:
                break
            position = match.end()
            name, raw = match.group("name"), match.group("value")
            if raw is None:
                found.append(Challenge(name.lower(), {}))
            elif found:
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                found[-1].params[name.lower()] = raw
    return found


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    deadline: float


class Authenticator:
    """The Authorization header for each request to one registry, learned from its challenges.

    One per registry client; safe to share among that client's concurrent requests (a token
    for a scope is fetched once however many requests need it at the same moment).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        registry: str,
        credentials: Credentials | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._registry = registry
        self._credentials = credentials
        self._clock = clock
        self._scheme: str | None = None  # None until the registry first challenges
        self._bearer: Challenge | None = None
        self._tokens: dict[Scopes, _Token] = {}
        self._locks: dict[Scopes, asyncio.Lock] = {}
        self.token_requests = 0  # how many times a token was fetched (for tests and metrics)

    async def header(self, scopes: Scopes) -> str | None:
        """What to send before any challenge for this request: nothing until the registry
        has challenged once, then its scheme's credentials (a bearer token is fetched ahead,
        so that a request whose body cannot be sent twice is not refused for want of one)."""
        if self._scheme == "basic" and self._credentials is not None:
            return self._credentials.basic()
        if self._scheme == "bearer":
            token = await self._token(scopes, refused=None)
            return f"Bearer {token}"
        return None

    async def answer(self, challenges: Sequence[str], scopes: Scopes, sent: str | None) -> str:
        """The header to retry with after a 401 whose challenges are ``challenges``, when
        ``sent`` was refused; RemoteUnauthorized when there is nothing new to try."""
        parsed = {c.scheme: c for c in parse_challenges(challenges)}
        if "bearer" in parsed and "realm" in parsed["bearer"].params:
            self._scheme, self._bearer = "bearer", parsed["bearer"]
            if not scopes and "scope" in self._bearer.params:
                scopes = tuple(self._bearer.params["scope"].split(" "))
            refused = sent.removeprefix("Bearer ") if sent and sent.startswith("Bearer ") else None
            return f"Bearer {await self._token(scopes, refused=refused)}"
        if "basic" in parsed:
            self._scheme = "basic"
            if self._credentials is None:
                raise RemoteUnauthorized(self._registry, "the registry asks for credentials")
            header = self._credentials.basic()
            if sent == header:
                raise RemoteUnauthorized(self._registry, "the credentials were refused")
            return header
        raise RemoteUnauthorized(
            self._registry, "refused, with no Basic or Bearer challenge to answer"
        )

    async def _token(self, scopes: Scopes, refused: str | None) -> str:
        key = tuple(sorted(scopes))
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.value != refused and cached.deadline > self._clock():
                return cached.value
            if refused is not None and cached is not None and cached.value == refused:
                del self._tokens[key]
            token = await self._fetch(key)
            self._tokens[key] = token
            return token.value

    async def _fetch(self, scopes: Scopes) -> _Token:
        assert self._bearer is not None
        params = self._bearer.params
        query: list[tuple[str, str | int | float | bool | None]] = []
        if "service" in params:
            query.append(("service", params["service"]))
        query += [("scope", s) for s in scopes]
        headers = {"Authorization": self._credentials.basic()} if self._credentials else {}
        started = self._clock()
        self.token_requests += 1
        try:
            response = await self._http.get(params["realm"], params=query, headers=headers)
        except httpx.TimeoutException as exc:
            raise RemoteTimeout(self._registry, f"token service: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise RemoteUnreachable(
                self._registry, f"token service: {type(exc).__name__}"
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise RemoteUnauthorized(self._registry, "the token service refused the credentials")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise RemoteRateLimited(self._registry, "the token service: HTTP 429", retry_after)
        if status >= 500:
            raise RemoteServerError(self._registry, f"the token service: HTTP {status}", status)
        if status != 200:
            raise RemoteInvalidResponse(
                self._registry, f"the token service answered HTTP {response.status_code}"
            )
        try:
            body = json.loads(response.content)
            value = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = None, 0.0
        if not isinstance(value, str) or not value:
            raise RemoteInvalidResponse(self._registry, "the token service sent no token")
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 2)
        return _Token(value, started + lifetime - margin)
