"""ValidatePullThroughCacheRule's reachability check: does ``<upstream>/v2/`` answer as a
registry, and does it take the rule's credentials?

Deliberately small and on its own: one ``GET /v2/``, and for a registry that answers with a
Bearer challenge one token request with the credentials (Basic, as the distribution token
spec has it), since that is where token registries check them. Fetching images from an
upstream is the OCI client's work (``dockyard.remote``); once that lands, ``probe`` becomes
a call to it, and nothing else here changes. Failure texts name the host and what went
wrong, never the credentials or a token.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from dockyard.domain.cache_rules import UpstreamCredentials

__all__ = ["PROBE_TIMEOUT", "Probe", "probe"]

#: Seconds for the whole check; a registry slower than this to answer /v2/ fails it.
PROBE_TIMEOUT = 10.0
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')

#: (base URL, credentials or None) -> None when the upstream is usable, else why not.
Probe = Callable[[str, UpstreamCredentials | None], Awaitable[str | None]]


async def probe(base_url: str, credentials: UpstreamCredentials | None) -> str | None:
    """None when ``base_url`` answers ``/v2/`` as a registry that lets these credentials in
    (or anonymous callers, without credentials); otherwise the failure, in a sentence."""
    host = urlsplit(base_url).netloc
    auth = None if credentials is None else (credentials.username, credentials.access_token)
    try:
        async with httpx.AsyncClient(
            timeout=PROBE_TIMEOUT, follow_redirects=True, trust_env=False
        ) as client:
            answer = await client.get(f"{base_url}/v2/", auth=auth)
            if answer.status_code == 401:
                return await _after_challenge(client, host, answer, auth)
            return _judge(host, answer.status_code)
    except httpx.TimeoutException:
        return f"The upstream registry {host} did not answer within {PROBE_TIMEOUT:g} seconds"
    except httpx.HTTPError as exc:
        return f"The upstream registry {host} is unreachable ({type(exc).__name__})"


async def _after_challenge(
    client: httpx.AsyncClient,
    host: str,
    answer: httpx.Response,
    auth: tuple[str, str] | None,
) -> str | None:
    challenge = answer.headers.get("www-authenticate", "")
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme != "bearer":
        # Basic: the credentials went with the request and were refused, or there were none.
        if auth is None:
            return f"The upstream registry {host} requires credentials (credentialArn)"
        return f"The upstream registry {host} refused the credentials of the rule's secret"
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.get("realm", "")
    if not realm.startswith(("https://", "http://")):
        return f"The upstream registry {host} sent a Bearer challenge without a usable realm"
    query = {"service": params["service"]} if "service" in params else {}
    token = await client.get(realm, params=query, auth=auth)
    if token.status_code in (401, 403):
        if auth is None:
            return f"The upstream registry {host} requires credentials (credentialArn)"
        return f"The upstream registry {host} refused the credentials of the rule's secret"
    if token.status_code != 200:
        return f"The token service of {host} answered HTTP {token.status_code}"
    return None


def _judge(host: str, status: int) -> str | None:
    if status == 200:
        return None
    if status == 403:
        return f"The upstream registry {host} denied access (HTTP 403)"
    if status == 429:
        return f"The upstream registry {host} is rate-limiting requests (HTTP 429)"
    if status >= 500:
        return f"The upstream registry {host} failed (HTTP {status})"
    return f"{host} does not answer /v2/ as a registry does (HTTP {status})"
