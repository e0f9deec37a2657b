"""ValidatePullThroughCacheRule's reachability check: does ``<upstream>/v2/`` answer as a
registry, and does it take the rule's credentials?

One ping through the remote-registry client (``dockyard.remote``), which answers Basic and
Bearer challenges as the registry asks (a token registry checks credentials at its token
service), bounded by ``PROBE_TIMEOUT`` as a whole. The client's failures become one
sentence each; they name the host and what went wrong, never the credentials or a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from dockyard.domain.cache_rules import UpstreamCredentials
from dockyard.remote import (
    ClientOptions,
    Credentials,
    RemoteError,
    RemoteTimeout,
    RemoteUnauthorized,
    RemoteUnreachable,
)

__all__ = ["PROBE_TIMEOUT", "Probe", "probe"]

#: Seconds for the whole check; a registry slower than this to answer /v2/ fails it.
PROBE_TIMEOUT = 10.0
_OPTIONS = ClientOptions(
    connect_timeout=PROBE_TIMEOUT,
    read_timeout=PROBE_TIMEOUT,
    write_timeout=PROBE_TIMEOUT,
    pool_timeout=PROBE_TIMEOUT,
    max_connections=2,
)

#: (base URL, credentials or None) -> None when the upstream is usable, else why not.
Probe = Callable[[str, UpstreamCredentials | None], Awaitable[str | None]]


async def probe(base_url: str, credentials: UpstreamCredentials | None) -> str | None:
    """None when ``base_url`` answers ``/v2/`` as a registry that lets these credentials in
    (or anonymous callers, without credentials); otherwise the failure, in a sentence."""
    from dockyard.remote import RegistryClient  # its HTTP stack loads on first use

    host = urlsplit(base_url).netloc
    given = (
        None if credentials is None else Credentials(credentials.username, credentials.access_token)
    )
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            async with RegistryClient(base_url, given, _OPTIONS) as client:
                await client.ping()
    except (TimeoutError, RemoteTimeout):
        return f"The upstream registry {host} did not answer within {PROBE_TIMEOUT:g} seconds"
    except RemoteUnauthorized as exc:
        if given is None:
            return (
                f"The upstream registry {host} requires credentials (credentialArn): {exc.message}"
            )
        refused = "refused the credentials of the rule's secret"
        return f"The upstream registry {host} {refused}: {exc.message}"
    except RemoteUnreachable as exc:
        return f"The upstream registry {host} is unreachable: {exc.message}"
    except RemoteError as exc:
        return f"The upstream registry {host} cannot be used: {exc.message}"
    return None
