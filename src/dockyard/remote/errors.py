"""What can go wrong talking to another registry, as one hierarchy.

These describe another registry's behaviour, not Dockyard's, so they are not domain errors:
the features that use the client (replication, the pull-through cache) translate them into
their own outcomes (a replication ``failureCode``, serving a cached copy, a wire error).
Messages name the registry host and the object, never credentials, tokens or query strings.

RemoteError
├── RemoteUnavailable        the remote cannot answer now; worth retrying later or serving a copy
│   ├── RemoteUnreachable    connection refused, DNS, TLS, a connection dropped mid-answer
│   │   └── RemoteTimeout    connect, read, write or pool timeout
│   ├── RemoteRateLimited    429, with ``retry_after`` seconds when the remote said
│   └── RemoteServerError    5xx
├── RemoteUnauthorized       401 after authenticating (wrong, missing or refused credentials)
├── RemoteDenied             403: authenticated, not allowed
├── RemoteNotFound           404
│   ├── RemoteRepositoryNotFound
│   ├── RemoteManifestNotFound
│   └── RemoteBlobNotFound
├── RemoteRejected           another 4xx: the remote refused what was sent (OCI error code kept)
├── RemoteInvalidResponse    an answer the distribution API does not allow
│   └── DigestMismatch       content whose digest (or length) is not the one asked for
└── RemoteUnsupported        valid content Dockyard does not handle (schema 1 manifests)
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

__all__ = [
    "DigestMismatch",
    "RemoteBlobNotFound",
    "RemoteDenied",
    "RemoteError",
    "RemoteInvalidResponse",
    "RemoteManifestNotFound",
    "RemoteNotFound",
    "RemoteRateLimited",
    "RemoteRejected",
    "RemoteRepositoryNotFound",
    "RemoteServerError",
    "RemoteTimeout",
    "RemoteUnauthorized",
    "RemoteUnavailable",
    "RemoteUnreachable",
    "RemoteUnsupported",
    "parse_retry_after",
]


class RemoteError(Exception):
    """Base of every failure of a request to another registry."""

    def __init__(self, registry: str, message: str) -> None:
        super().__init__(f"{registry}: {message}")
        self.registry = registry  # host[:port], never a URL with a query
        self.message = message


class RemoteUnavailable(RemoteError):
    """The remote did not serve the request now; the same request may work later."""


class RemoteUnreachable(RemoteUnavailable):
    pass


class RemoteTimeout(RemoteUnreachable):
    pass


class RemoteRateLimited(RemoteUnavailable):
    def __init__(self, registry: str, message: str, retry_after: float | None) -> None:
        super().__init__(registry, message)
        self.retry_after = retry_after  # seconds to wait, from Retry-After; None: not said


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RemoteServerError(RemoteUnavailable):
    def __init__(self, registry: str, message: str, status: int) -> None:
        super().__init__(registry, message)
        self.status = status


class RemoteUnauthorized(RemoteError):
    pass


class RemoteDenied(RemoteError):
    pass


class RemoteNotFound(RemoteError):
    pass


class RemoteRepositoryNotFound(RemoteNotFound):
    pass


class RemoteManifestNotFound(RemoteNotFound):
    pass


class RemoteBlobNotFound(RemoteNotFound):
    pass


class RemoteRejected(RemoteError):
    def __init__(self, registry: str, message: str, status: int, code: str | None) -> None:
        super().__init__(registry, message)
        self.status = status
        self.code = code  # the OCI error code of the answer (MANIFEST_INVALID, ...), if any


class RemoteInvalidResponse(RemoteError):
    pass


class DigestMismatch(RemoteInvalidResponse):
    def __init__(self, registry: str, what: str, expected: str, actual: str) -> None:
        super().__init__(registry, f"{what}: expected {expected}, received {actual}")
        self.expected = expected
        self.actual = actual


class RemoteUnsupported(RemoteError):
    pass
