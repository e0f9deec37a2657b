"""One registry's HTTP plumbing: authenticated requests, answers mapped to typed errors,
and log lines that carry no secrets.

Everything above it (reads, pushes) asks for a request with the token scopes it needs;
this module adds the Authorization header, answers a 401 once, and turns transport failures
and error statuses into ``dockyard.remote.errors``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from dockyard.remote.auth import Authenticator, Scopes
from dockyard.remote.errors import (
    RemoteBlobNotFound,
    RemoteDenied,
    RemoteManifestNotFound,
    RemoteNotFound,
    RemoteRateLimited,
    RemoteRejected,
    RemoteRepositoryNotFound,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnauthorized,
    RemoteUnreachable,
    parse_retry_after,
)
from dockyard.remote.options import ClientOptions, Credentials

__all__ = ["ClientOptions", "Transport", "loggable"]

log = logging.getLogger("dockyard.remote")

# An error answer's body is read up to this much (to find its OCI error code), no more.
_ERROR_BODY_LIMIT = 64 * 1024

_NOT_FOUND_CODES: dict[str, type[RemoteNotFound]] = {
    "NAME_UNKNOWN": RemoteRepositoryNotFound,
    "MANIFEST_UNKNOWN": RemoteManifestNotFound,
    "BLOB_UNKNOWN": RemoteBlobNotFound,
}


def loggable(url: httpx.URL | str) -> str:
    """A URL without its query: presigned blob-storage URLs carry signatures there."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}" + (
        "?..." if parts.query else ""
    )


class _QueryRedactingFilter(logging.Filter):
    """httpx logs each request's URL (INFO) and httpcore each answer's headers (DEBUG): a
    redirect's Location is a presigned URL whose query is a credential. When the client
    runs inside the server, those records reach its log; this keeps every URL's query out
    of them (the record is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _URL_QUERY.sub(r"\1?...", message), None
        return True


_URL_QUERY = re.compile(r"(\bhttps?://[^\s'\"?]*)\?[^\s'\"]*")
# Logger filters see only their own logger's records, so each logger that writes is named.
_WIRE_LOGGERS = ("httpx", "httpcore.http11", "httpcore.http2", "httpcore.connection")
for _name in _WIRE_LOGGERS:
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _QueryRedactingFilter) for f in _logger.filters):
        _logger.addFilter(_QueryRedactingFilter())


class Transport:
    """Requests to one registry over one connection pool."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        options: ClientOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.registry = self.base_url.netloc.decode("ascii")
        self.options = options
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=options.connect_timeout,
                read=options.read_timeout,
                write=options.write_timeout,
                pool=options.pool_timeout,
            ),
            limits=httpx.Limits(max_connections=options.max_connections),
            headers={"User-Agent": options.user_agent},
            follow_redirects=False,
            transport=transport,
            trust_env=options.trust_env,
            verify=options.verify_tls,
        )
        self.auth = Authenticator(self.http, self.registry, credentials, clock)

    async def aclose(self) -> None:
        await self.http.aclose()

    def url(self, path: str) -> httpx.URL:
        return self.base_url.join(path.lstrip("/"))

    def same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        )

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Transport failures as RemoteUnreachable / RemoteTimeout."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise RemoteTimeout(self.registry, f"{what}: {_describe(exc)}") from None
        except httpx.TransportError as exc:
            raise RemoteUnreachable(self.registry, f"{what}: {_describe(exc)}") from None

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        scopes: Scopes,
        what: str,
        headers: dict[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        stream: bool = False,
        expect: tuple[int, ...] = (200,),
        not_found: type[RemoteNotFound] = RemoteNotFound,
    ) -> httpx.Response:
        """One authenticated request; the answer when its status is in ``expect``, else
        the typed error. A body that is not bytes cannot be sent twice, so such a request
        is not retried after a 401 (the header is settled by an earlier request)."""
        sent = await self.auth.header(scopes)
        response = await self._send_once(method, url, headers, content, stream, sent, what)
        if response.status_code == 401 and not isinstance(content, AsyncIterator):
            challenges = response.headers.get_list("www-authenticate")
            await response.aclose()
            sent = await self.auth.answer(challenges, scopes, sent)
            response = await self._send_once(method, url, headers, content, stream, sent, what)
        if response.status_code in expect:
            return response
        try:
            await self.raise_for(response, what, not_found)
        finally:
            await response.aclose()
        raise AssertionError("raise_for returns only by raising")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        headers: dict[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
        stream: bool,
        authorization: str | None,
        what: str,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if authorization is not None:
            all_headers["Authorization"] = authorization
        request = self.http.build_request(method, url, headers=all_headers, content=content)
        with self.errors(what):
            response = await self.http.send(request, stream=stream)
        log.debug("%s %s -> %d", method, loggable(url), response.status_code)
        return response

    async def raise_for(
        self, response: httpx.Response, what: str, not_found: type[RemoteNotFound]
    ) -> None:
        """The typed error for an answer that is not what the request wanted."""
        status = response.status_code
        code, message = await self._error_of(response)
        said = (
            f"{what}: HTTP {status}"
            + (f" {code}" if code else "")
            + (f": {message}" if message else "")
        )
        if status == 401:
            raise RemoteUnauthorized(self.registry, said)
        if status == 403:
            raise RemoteDenied(self.registry, said)
        if status == 404:
            raise _NOT_FOUND_CODES.get(code or "", not_found)(self.registry, said)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise RemoteRateLimited(self.registry, said, retry_after)
        if status >= 500:
            raise RemoteServerError(self.registry, said, status)
        raise RemoteRejected(self.registry, said, status, code)

    async def _error_of(self, response: httpx.Response) -> tuple[str | None, str | None]:
        """(OCI error code, its message) of an error answer, when it has them."""
        if response.request.method == "HEAD":
            return None, None
        body = b""
        with contextlib.suppress(httpx.HTTPError):
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > _ERROR_BODY_LIMIT:
                    return None, None
        try:
            errors: Any = json.loads(body).get("errors")
            first = errors[0]
            code, message = first.get("code"), first.get("message")
        except (ValueError, AttributeError, TypeError, IndexError, KeyError):
            return None, None
        return (
            code if isinstance(code, str) else None,
            message[:300] if isinstance(message, str) else None,
        )


def _describe(exc: httpx.HTTPError) -> str:
    # The exception's text may hold a URL with its query; its class name says enough.
    return type(exc).__name__
