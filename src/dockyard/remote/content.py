"""Content as it travels between registries: manifest bytes with their digest, and blob
streams whose digest and length are checked as the bytes go by."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest, new_hasher
from dockyard.remote.errors import DigestMismatch, RemoteUnsupported

__all__ = ["FetchedManifest", "exactly", "manifest_media_type", "verified"]

SCHEMA1_TYPES = frozenset({mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED, "application/json"})


@dataclass(frozen=True, slots=True)
class FetchedManifest:
    """A manifest's exact bytes (a copy must not re-serialize them: the digest would change)."""

    digest: Digest
    media_type: str
    payload: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.payload)


def manifest_media_type(registry: str, content_type: str | None, payload: bytes) -> str:
    """The media type of fetched manifest bytes: the answer's Content-Type, else the
    document's ``mediaType``. Schema 1 manifests are refused with a clear error."""
    declared = (content_type or "").split(";")[0].strip().lower()
    document: object = None
    with contextlib.suppress(ValueError):
        document = json.loads(payload)
    inner = document.get("mediaType") if isinstance(document, dict) else None
    version = document.get("schemaVersion") if isinstance(document, dict) else None
    if declared in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED) or version == 1:
        raise RemoteUnsupported(
            registry,
            "the manifest is Docker image manifest schema 1, which is deprecated and not "
            "supported: push the image again with a current client (schema 2 or OCI)",
        )
    if declared and declared not in SCHEMA1_TYPES:
        return declared
    if isinstance(inner, str) and inner:
        return inner
    return declared or mt.OCI_MANIFEST


async def verified(
    chunks: AsyncIterator[bytes], registry: str, what: str, digest: Digest, size: int | None
) -> AsyncIterator[bytes]:
    """``chunks`` passed through, hashing as they go; DigestMismatch as soon as there are
    more bytes than ``size``, and at the end when the length or digest is not the expected.
    The last chunk is held back until the check passes, so a consumer that stores what it
    receives never completes a wrong blob."""
    hasher = new_hasher(digest.algorithm)
    total = 0
    pending: bytes | None = None
    async for chunk in chunks:
        if not chunk:
            continue
        total += len(chunk)
        if size is not None and total > size:
            raise DigestMismatch(registry, what, f"{size} bytes", f"more than {size} bytes")
        hasher.update(chunk)
        if pending is not None:
            yield pending
        pending = chunk
    if size is not None and total != size:
        raise DigestMismatch(registry, what, f"{size} bytes", f"{total} bytes")
    actual = f"{digest.algorithm}:{hasher.hexdigest()}"
    if actual != str(digest):
        raise DigestMismatch(registry, what, str(digest), actual)
    if pending is not None:
        yield pending


async def exactly(chunks: AsyncIterator[bytes], size: int, what: str) -> AsyncIterator[bytes]:
    """``chunks`` checked to add up to ``size`` bytes (a request body declared with that
    Content-Length); DigestMismatch from the source otherwise."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > size:
            raise DigestMismatch("source", what, f"{size} bytes", f"more than {size} bytes")
        yield chunk
    if total != size:
        raise DigestMismatch("source", what, f"{size} bytes", f"{total} bytes")
