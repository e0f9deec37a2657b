"""Pushing one blob to another registry without holding it in memory.

A cross-repository mount is tried first when the caller knows a repository of the same
registry that holds the blob. Otherwise an upload session is opened and the bytes go either
in the closing ``PUT`` (blobs up to ``ClientOptions.chunk_size``) or in ``PATCH`` chunks of
that size, each streamed from the source as it is sent. Every answer's ``Location`` is where
the next request goes (registries keep upload state in it), and every ``Range`` answer must
say the registry holds exactly what was sent so far: a stream cannot be rewound, so a
registry that kept less is an error, and the caller starts the blob again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Literal

import httpx

from dockyard.domain.digests import Digest
from dockyard.domain.errors import DockyardError
from dockyard.domain.manifests import Descriptor
from dockyard.remote.auth import Scopes
from dockyard.remote.content import exactly
from dockyard.remote.errors import DigestMismatch, RemoteError, RemoteInvalidResponse
from dockyard.remote.transport import Transport

__all__ = ["Outcome", "push_blob"]

Outcome = Literal["present", "mounted", "uploaded"]
_OCTETS = "application/octet-stream"


async def push_blob(
    t: Transport,
    repository: str,
    descriptor: Descriptor,
    open_stream: Callable[[], AsyncIterator[bytes]],
    mount_from: str | None,
) -> Outcome:
    digest, size = descriptor.digest, descriptor.size
    what = f"blob {repository}@{digest}"
    scopes: Scopes = (f"repository:{repository}:pull,push",)
    start = t.url(f"/v2/{repository}/blobs/uploads/")
    if mount_from is not None and mount_from != repository:
        scopes += (f"repository:{mount_from}:pull",)
        start = start.copy_merge_params({"mount": str(digest), "from": mount_from})
    response = await t.send("POST", start, scopes=scopes, what=what, expect=(201, 202))
    await response.aclose()
    if response.status_code == 201:
        _check_digest(t, response, digest, what)
        return "mounted"
    session = _Session(_location(t, response, what))
    stream = open_stream()
    try:
        if size <= t.options.chunk_size:
            body: AsyncIterator[bytes] | bytes = exactly(stream, size, what)
            length = size
        else:
            await _send_chunks(t, session, size, stream, scopes, what)
            body, length = b"", 0
        response = await t.send(
            "PUT",
            session.location.copy_merge_params({"digest": str(digest)}),
            scopes=scopes,
            what=what,
            headers={"Content-Type": _OCTETS, "Content-Length": str(length)},
            content=body,
            expect=(200, 201, 204),
        )
        await response.aclose()
    except Exception:
        await _cancel(t, session, scopes, what)
        raise
    finally:
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()
    _check_digest(t, response, digest, what)
    return "uploaded"


class _Session:
    """An upload session: where its next request goes (each answer may move it)."""

    def __init__(self, location: httpx.URL) -> None:
        self.location = location


async def _cancel(t: Transport, session: _Session, scopes: Scopes, what: str) -> None:
    """Best effort: tell the registry a failed upload is abandoned, so that it need not
    keep the partial bytes until its own expiry. The original failure is what matters."""
    with contextlib.suppress(RemoteError):
        response = await t.send(
            "DELETE", session.location, scopes=scopes, what=what, expect=(200, 202, 204, 404)
        )
        await response.aclose()


async def _send_chunks(
    t: Transport,
    session: _Session,
    size: int,
    stream: AsyncIterator[bytes],
    scopes: Scopes,
    what: str,
) -> None:
    """PATCH the blob in chunks, following the session's Location."""
    source = _Slicer(stream, what)
    offset = 0
    while offset < size:
        length = min(t.options.chunk_size, size - offset)
        end = offset + length - 1
        response = await t.send(
            "PATCH",
            session.location,
            scopes=scopes,
            what=what,
            headers={
                "Content-Type": _OCTETS,
                "Content-Range": f"{offset}-{end}",
                "Content-Length": str(length),
            },
            content=source.take(length),
            expect=(202, 204),
        )
        await response.aclose()
        held = _range_end(response)
        if held is not None and held != end:
            raise RemoteInvalidResponse(
                t.registry,
                f"{what}: the registry holds bytes 0-{held} after a chunk ending at {end}",
            )
        if response.headers.get("location"):
            session.location = _location(t, response, what)
        offset += length
    await source.expect_end(size)


class _Slicer:
    """Pieces of exactly the asked length out of a stream of arbitrary pieces."""

    def __init__(self, stream: AsyncIterator[bytes], what: str) -> None:
        self._stream = stream
        self._left = b""
        self._what = what

    async def take(self, length: int) -> AsyncIterator[bytes]:
        remaining = length
        while remaining:
            if not self._left:
                try:
                    self._left = await anext(self._stream)
                except StopAsyncIteration:
                    raise DigestMismatch(
                        "source", self._what, "more bytes", "a stream that ended early"
                    ) from None
                continue
            piece, self._left = self._left[:remaining], self._left[remaining:]
            remaining -= len(piece)
            yield piece

    async def expect_end(self, size: int) -> None:
        """The stream must end here (reading to its end also runs its own final checks)."""
        extra = bool(self._left)
        async for piece in self._stream:
            extra = extra or bool(piece)
        if extra:
            raise DigestMismatch("source", self._what, f"{size} bytes", f"more than {size} bytes")


def _location(t: Transport, response: httpx.Response, what: str) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise RemoteInvalidResponse(t.registry, f"{what}: an upload answer without Location")
    return response.request.url.join(location)


def _range_end(response: httpx.Response) -> int | None:
    """The last byte the registry holds, from ``Range: 0-<end>`` (``bytes=`` tolerated)."""
    value = response.headers.get("range", "").strip().removeprefix("bytes=")
    _start, sep, end = value.partition("-")
    if not sep or not end.isdigit():
        return None
    return int(end)


def _check_digest(t: Transport, response: httpx.Response, digest: Digest, what: str) -> None:
    header = response.headers.get("docker-content-digest")
    if not header:
        return
    try:
        stored = Digest.parse(header.strip())
    except DockyardError:
        raise RemoteInvalidResponse(
            t.registry, f"{what}: a malformed Docker-Content-Digest"
        ) from None
    if stored.algorithm == digest.algorithm and stored != digest:
        raise DigestMismatch(t.registry, f"{what} (stored)", str(digest), str(stored))
