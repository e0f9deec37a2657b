"""Reading one blob from another registry as a stream.

The registry may answer with a redirect to blob storage (a presigned S3 URL): it is followed
with a bare GET, since the registry's credentials are for the registry alone. A connection
that drops mid-blob is resumed where it stopped (``Range: bytes=<received>-``), up to
``ClientOptions.resume_attempts`` times, so a large layer does not start over; the digest is
checked over the whole, however many answers it came in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx

from dockyard.domain.digests import Digest
from dockyard.remote.content import verified
from dockyard.remote.errors import (
    RemoteBlobNotFound,
    RemoteInvalidResponse,
    RemoteUnreachable,
)
from dockyard.remote.transport import Transport, loggable

__all__ = ["REDIRECTS", "open_blob"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE_START = re.compile(r"^bytes (\d+)-")


async def open_blob(
    t: Transport, repository: str, digest: Digest, size: int | None
) -> AsyncIterator[bytes]:
    what = f"blob {repository}@{digest}"
    async for chunk in verified(
        _bytes(t, repository, digest, what), t.registry, what, digest, size
    ):
        yield chunk


async def _bytes(t: Transport, repository: str, digest: Digest, what: str) -> AsyncIterator[bytes]:
    """The blob's bytes over as many answers as it takes (a resumed answer continues)."""
    received = 0
    resumes = 0
    while True:
        response = await _answer(t, repository, digest, what, received)
        try:
            skip = _bytes_to_skip(t, response, received, what)
            async for chunk in response.aiter_raw():
                if skip:  # a registry that ignored the Range: drop what was already sent
                    dropped, chunk = chunk[:skip], chunk[skip:]
                    skip -= len(dropped)
                    if not chunk:
                        continue
                received += len(chunk)
                yield chunk
            return
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # The connection dropped mid-answer (not a timeout: a slow registry stays slow).
            resumes += 1
            if resumes > t.options.resume_attempts:
                raise RemoteUnreachable(
                    t.registry, f"{what}: the connection dropped ({type(exc).__name__})"
                ) from None
        except httpx.TransportError:
            with t.errors(what):
                raise
        finally:
            await response.aclose()


def _bytes_to_skip(t: Transport, response: httpx.Response, offset: int, what: str) -> int:
    if offset == 0 or response.status_code == 200:
        return offset
    match = _CONTENT_RANGE_START.match(response.headers.get("content-range", ""))
    if match is None or int(match.group(1)) != offset:
        raise RemoteInvalidResponse(t.registry, f"{what}: a resumed answer from the wrong byte")
    return 0


async def _answer(
    t: Transport, repository: str, digest: Digest, what: str, offset: int
) -> httpx.Response:
    """The answer that carries the blob's bytes (from ``offset``), redirects followed."""
    # The bytes exactly as stored: a transfer encoding would change what is hashed.
    ranged = {"Accept-Encoding": "identity"}
    if offset:
        ranged["Range"] = f"bytes={offset}-"
    ok = (200, 206) if offset else (200,)
    url = t.url(f"/v2/{repository}/blobs/{digest}")
    response = await t.send(
        "GET",
        url,
        scopes=(f"repository:{repository}:pull",),
        what=what,
        headers=ranged,
        stream=True,
        expect=(*ok, *REDIRECTS),
        not_found=RemoteBlobNotFound,
    )
    authorization = response.request.headers.get("authorization")
    for _ in range(t.options.max_redirects):
        if response.status_code not in REDIRECTS:
            return response
        location = response.headers.get("location")
        await response.aclose()
        if not location:
            raise RemoteInvalidResponse(t.registry, f"{what}: a redirect without Location")
        url = url.join(location)
        # The registry's credentials are for the registry: storage gets a bare GET.
        headers = dict(ranged)
        if authorization and t.same_origin(url):
            headers["Authorization"] = authorization
        with t.errors(f"{what} from {loggable(url)}"):
            response = await t.http.send(
                t.http.build_request("GET", url, headers=headers), stream=True
            )
        if response.status_code not in (*ok, *REDIRECTS):
            try:
                await t.raise_for(response, f"{what} from {loggable(url)}", RemoteBlobNotFound)
            finally:
                await response.aclose()
    if response.status_code in REDIRECTS:
        await response.aclose()
        raise RemoteInvalidResponse(t.registry, f"{what}: too many redirects")
    return response
