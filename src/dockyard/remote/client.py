"""An async client for another registry's OCI distribution API (``/v2``).

Reads: ping, manifests by tag or digest (GET and HEAD), blobs (HEAD, streamed GET that
follows redirects to blob storage), tags (paginated), referrers (with the fallback tag
schema). Writes: blobs (``uploads.py``) and manifests. Everything received is checked
against the digest asked for or declared, hashing as the bytes arrive.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.errors import DockyardError
from dockyard.domain.manifests import Descriptor, parse_manifest
from dockyard.remote import downloads, uploads
from dockyard.remote.auth import Credentials, Scopes
from dockyard.remote.content import FetchedManifest, manifest_media_type
from dockyard.remote.errors import (
    DigestMismatch,
    RemoteBlobNotFound,
    RemoteInvalidResponse,
    RemoteManifestNotFound,
    RemoteNotFound,
    RemoteRepositoryNotFound,
)
from dockyard.remote.transport import ClientOptions, Transport

__all__ = ["ManifestHead", "PushedManifest", "RegistryClient", "pull_scope", "push_scope"]

# Every manifest kind Dockyard stores; schema 1 is not asked for (and refused if sent).
MANIFEST_ACCEPT = ", ".join(
    [mt.OCI_INDEX, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_LIST, mt.DOCKER_MANIFEST]
)
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


def pull_scope(repository: str) -> Scopes:
    return (f"repository:{repository}:pull",)


def push_scope(repository: str) -> Scopes:
    return (f"repository:{repository}:pull,push",)


@dataclass(frozen=True, slots=True)
class ManifestHead:
    digest: Digest | None  # None when the registry did not say (Docker-Content-Digest)
    media_type: str
    size: int | None


@dataclass(frozen=True, slots=True)
class PushedManifest:
    digest: Digest
    subject_processed: bool  # the registry answered OCI-Subject: it indexes referrers itself


class RegistryClient:
    """One remote registry. Use ``async with`` (or ``aclose``) to release its connections.

    ``base_url`` is ``scheme://host[:port]`` (see ``names.resolve_repository`` for Docker
    Hub); ``credentials`` answer Basic challenges and authenticate token requests.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        options: ClientOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or ClientOptions()
        self.transport = Transport(
            base_url, credentials, self.options, transport=transport, clock=clock
        )
        self.registry = self.transport.registry

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    @property
    def token_requests(self) -> int:
        """Tokens fetched so far (each is cached for its scope until it expires)."""
        return self.transport.auth.token_requests

    # -- base -------------------------------------------------------------------------------
    async def ping(self) -> None:
        """``GET /v2/``, authenticating as the registry asks; raises when it cannot be used."""
        t = self.transport
        response = await t.send("GET", t.url("/v2/"), scopes=(), what="GET /v2/")
        await response.aclose()

    # -- manifests --------------------------------------------------------------------------
    async def get_manifest(
        self, repository: str, reference: str, *, push: bool = False
    ) -> FetchedManifest:
        """The manifest under a tag or digest, its bytes verified against the digest asked
        for (or the one the registry declares for a tag). ``push``: asked with push rights,
        so that a writer's reads and writes share one token."""
        t = self.transport
        what = f"manifest {repository}:{reference}"
        response = await t.send(
            "GET",
            t.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=push_scope(repository) if push else pull_scope(repository),
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
            stream=True,
            not_found=RemoteManifestNotFound,
        )
        async with _closing(response):
            payload = await self._read_limited(response, what)
        media_type = manifest_media_type(
            self.registry, response.headers.get("content-type"), payload
        )
        expected = _digest_of_reference(reference) or self._declared_digest(response, what)
        actual = Digest.of(payload, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise DigestMismatch(self.registry, what, str(expected), str(actual))
        return FetchedManifest(actual, media_type, payload)

    async def head_manifest(self, repository: str, reference: str) -> ManifestHead:
        """What a manifest is without its bytes (for checking whether a tag moved)."""
        t = self.transport
        what = f"manifest {repository}:{reference}"
        response = await t.send(
            "HEAD",
            t.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=pull_scope(repository),
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
            not_found=RemoteManifestNotFound,
        )
        digest = self._declared_digest(response, what)
        asked = _digest_of_reference(reference)
        if asked is not None and digest is not None and digest != asked:
            raise DigestMismatch(self.registry, what, str(asked), str(digest))
        length = response.headers.get("content-length", "")
        media_type = (response.headers.get("content-type") or "").split(";")[0].strip()
        return ManifestHead(digest or asked, media_type, int(length) if length.isdigit() else None)

    async def put_manifest(
        self, repository: str, reference: str, media_type: str, payload: bytes
    ) -> PushedManifest:
        """Store manifest bytes unchanged under a tag or their digest."""
        t = self.transport
        what = f"manifest {repository}:{reference}"
        digest = Digest.of(payload)
        response = await t.send(
            "PUT",
            t.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=push_scope(repository),
            what=what,
            headers={"Content-Type": media_type},
            content=payload,
            expect=(200, 201, 202),
        )
        await response.aclose()
        declared = self._declared_digest(response, what)
        if declared is not None and declared.algorithm == "sha256" and declared != digest:
            raise DigestMismatch(self.registry, f"{what} (stored)", str(digest), str(declared))
        return PushedManifest(digest, "oci-subject" in response.headers)

    async def delete_manifest(self, repository: str, reference: str) -> None:
        """Delete a manifest (by digest) or untag (by tag, where the registry allows it);
        RemoteManifestNotFound when it is not there, RemoteRejected (405) when the registry
        does not delete."""
        t = self.transport
        response = await t.send(
            "DELETE",
            t.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=(f"repository:{repository}:pull,push,delete",),
            what=f"manifest {repository}:{reference}",
            expect=(200, 202, 204),
            not_found=RemoteManifestNotFound,
        )
        await response.aclose()

    # -- blobs ------------------------------------------------------------------------------
    async def blob_size(self, repository: str, digest: Digest, *, push: bool = False) -> int | None:
        """The size of a blob the repository holds (-1 when it answers with a redirect);
        None when it holds no such blob. ``push`` as for ``get_manifest``."""
        t = self.transport
        try:
            response = await t.send(
                "HEAD",
                t.url(f"/v2/{repository}/blobs/{digest}"),
                scopes=push_scope(repository) if push else pull_scope(repository),
                what=f"blob {repository}@{digest}",
                expect=(200, *downloads.REDIRECTS),
                not_found=RemoteBlobNotFound,
            )
        except RemoteNotFound:
            return None
        length = response.headers.get("content-length", "")
        return int(length) if length.isdigit() and response.status_code == 200 else -1

    async def open_blob(
        self, repository: str, digest: Digest, size: int | None = None
    ) -> AsyncIterator[bytes]:
        """The blob's bytes, streamed; follows redirects (to blob storage, e.g. presigned S3
        URLs) without sending the registry's credentials to another host. Raises
        DigestMismatch before the last chunk when the bytes are not the blob asked for;
        resumes a dropped connection (``downloads.py``). Close the iterator (``aclose``)
        when leaving it early."""
        async for chunk in downloads.open_blob(self.transport, repository, digest, size):
            yield chunk

    async def push_blob(
        self,
        repository: str,
        descriptor: Descriptor,
        open_stream: Callable[[], AsyncIterator[bytes]],
        *,
        mount_from: str | None = None,
        check_exists: bool = True,
    ) -> uploads.Outcome:
        """Put a blob into the repository (see ``uploads.push_blob``): skipped when there,
        mounted from ``mount_from`` (a repository of this registry) when it can be, else
        uploaded from ``open_stream()`` in one PUT or in PATCH chunks."""
        if (
            check_exists
            and await self.blob_size(repository, descriptor.digest, push=True) is not None
        ):
            return "present"
        return await uploads.push_blob(
            self.transport, repository, descriptor, open_stream, mount_from
        )

    # -- listings ---------------------------------------------------------------------------
    async def list_tags(self, repository: str, page_size: int | None = None) -> list[str]:
        """Every tag of the repository, following ``Link: <...>; rel="next"`` pages."""
        t = self.transport
        url = t.url(f"/v2/{repository}/tags/list")
        if page_size is not None:
            url = url.copy_merge_params({"n": str(page_size)})
        tags: list[str] = []
        seen: set[str] = set()
        while True:
            body, response = await self._get_json(url, repository, f"tags of {repository}")
            page = body.get("tags") if isinstance(body, dict) else None
            if page is not None and not (
                isinstance(page, list) and all(isinstance(x, str) for x in page)
            ):
                raise RemoteInvalidResponse(self.registry, f"tags of {repository}: not a tag list")
            tags += page or []
            following = _next_link(response)
            if following is None or following in seen:
                return tags
            seen.add(following)
            url = url.join(following)

    async def referrers(self, repository: str, subject: Digest) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``subject``: the referrers API, or, where the
        registry has none (404), the index under the fallback tag ``<alg>-<hex>``."""
        t = self.transport
        url = t.url(f"/v2/{repository}/referrers/{subject}")
        found: list[Descriptor] = []
        seen: set[str] = set()
        while True:
            try:
                body, response = await self._get_json(
                    url, repository, f"referrers of {subject}", accept=mt.OCI_INDEX, raw=True
                )
            except RemoteNotFound:
                return await self._fallback_referrers(repository, subject)
            found += self._index_descriptors(body, f"referrers of {subject}")
            following = _next_link(response)
            if following is None or following in seen:
                return found
            seen.add(following)
            url = url.join(following)

    async def _fallback_referrers(self, repository: str, subject: Digest) -> list[Descriptor]:
        try:
            index = await self.get_manifest(repository, fallback_tag(subject))
        except RemoteNotFound:
            return []
        return self._index_descriptors(index.payload, f"referrers tag of {subject}")

    def _index_descriptors(self, payload: bytes, what: str) -> list[Descriptor]:
        try:
            index = parse_manifest(payload, mt.OCI_INDEX)
        except DockyardError as exc:
            raise RemoteInvalidResponse(self.registry, f"{what}: {exc.describe()}") from None
        return list(index.manifests)

    # -- helpers ----------------------------------------------------------------------------
    async def _get_json(
        self,
        url: httpx.URL,
        repository: str,
        what: str,
        accept: str = "application/json",
        raw: bool = False,
    ) -> tuple[Any, httpx.Response]:
        response = await self.transport.send(
            "GET",
            url,
            scopes=pull_scope(repository),
            what=what,
            headers={"Accept": accept},
            stream=True,
            not_found=RemoteRepositoryNotFound if not raw else RemoteNotFound,
        )
        async with _closing(response):
            payload = await self._read_limited(response, what)
        if raw:
            return payload, response
        try:
            return json.loads(payload), response
        except ValueError:
            raise RemoteInvalidResponse(self.registry, f"{what}: not JSON") from None

    async def _read_limited(self, response: httpx.Response, what: str) -> bytes:
        limit = self.options.max_manifest_bytes
        parts: list[bytes] = []
        total = 0
        with self.transport.errors(what):
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise RemoteInvalidResponse(self.registry, f"{what}: larger than {limit} bytes")
                parts.append(chunk)
        return b"".join(parts)

    def _declared_digest(self, response: httpx.Response, what: str) -> Digest | None:
        header = response.headers.get("docker-content-digest")
        if not header:
            return None
        try:
            return Digest.parse(header.strip())
        except DockyardError:
            raise RemoteInvalidResponse(
                self.registry, f"{what}: Docker-Content-Digest {header[:80]!r} is not a digest"
            ) from None


def fallback_tag(subject: Digest) -> str:
    """The tag under which registries without the referrers API list a subject's referrers."""
    return f"{subject.algorithm}-{subject.hex}"


def _digest_of_reference(reference: str) -> Digest | None:
    return Digest.parse(reference) if ":" in reference else None


def _next_link(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("link"):
        match = _NEXT_LINK.search(value)
        if match:
            return match.group(1)
    return None


class _closing:
    """``async with`` that closes a streamed answer."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    async def __aenter__(self) -> httpx.Response:
        return self.response

    async def __aexit__(self, *exc: object) -> None:
        await self.response.aclose()
