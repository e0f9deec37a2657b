"""A repository of a remote registry as an image source or sink of the copy engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.errors import ManifestInvalid
from dockyard.domain.manifests import Descriptor, parse_manifest
from dockyard.remote.client import RegistryClient, fallback_tag
from dockyard.remote.content import FetchedManifest
from dockyard.remote.errors import RemoteNotFound

__all__ = ["RecordingSink", "RemoteSink", "RemoteSource", "delete_replica"]


class RemoteSource:
    """Reads one repository of a remote registry (``copy.ImageSource``)."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository

    async def get_manifest(self, reference: str) -> FetchedManifest:
        return await self.client.get_manifest(self.repository, reference)

    def open_blob(self, descriptor: Descriptor) -> AsyncIterator[bytes]:
        return self.client.open_blob(self.repository, descriptor.digest, descriptor.size)

    async def referrers(self, subject: Digest) -> list[Descriptor]:
        return await self.client.referrers(self.repository, subject)


class RemoteSink:
    """Writes one repository of a remote registry (``copy.ImageSink``).

    ``mount_from``: a repository of the same registry that may hold the blobs (the source,
    when copying within one registry); each blob is then mounted rather than uploaded
    where the registry allows it. A manifest with a ``subject`` pushed to a registry that
    does not index referrers itself (no ``OCI-Subject`` in its answer) is added to the
    subject's fallback tag index (``<alg>-<hex>``), as the distribution spec asks of clients.
    """

    def __init__(
        self, client: RegistryClient, repository: str, *, mount_from: str | None = None
    ) -> None:
        self.client = client
        self.repository = repository
        self.mount_from = mount_from

    async def has_blob(self, descriptor: Descriptor) -> bool:
        size = await self.client.blob_size(self.repository, descriptor.digest, push=True)
        return size is not None

    async def put_blob(
        self, descriptor: Descriptor, open_stream: Callable[[], AsyncIterator[bytes]]
    ) -> None:
        await self.client.push_blob(
            self.repository,
            descriptor,
            open_stream,
            mount_from=self.mount_from,
            check_exists=False,  # the engine asked has_blob first
        )

    async def put_manifest(self, reference: str, manifest: FetchedManifest) -> None:
        pushed = await self.client.put_manifest(
            self.repository, reference, manifest.media_type, manifest.payload
        )
        if pushed.subject_processed:
            return
        subject = parse_manifest(manifest.payload, manifest.media_type).subject
        if subject is not None:
            await self._add_to_fallback_index(subject.digest, manifest)

    async def _add_to_fallback_index(self, subject: Digest, referrer: FetchedManifest) -> None:
        index = await _fallback_index(self.client, self.repository, subject)
        listed = index.setdefault("manifests", [])
        if any(d.get("digest") == str(referrer.digest) for d in listed):
            return
        listed.append(_descriptor_of(referrer))
        await _put_fallback_index(self.client, self.repository, subject, index)


class RecordingSink(RemoteSink):
    """A ``RemoteSink`` that tells ``record`` of each manifest it puts by digest where the
    repository did not hold it, before the put: a run dying in between still knows what it
    may have created (and so what a later delete may remove)."""

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        record: Callable[[str], Awaitable[None]],
    ) -> None:
        super().__init__(client, repository)
        self._record = record
        self.created: list[str] = []

    async def put_manifest(self, reference: str, manifest: FetchedManifest) -> None:
        if reference == str(manifest.digest):
            try:
                await self.client.head_manifest(self.repository, reference)
            except RemoteNotFound:
                await self._record(reference)
                self.created.append(reference)
        await super().put_manifest(reference, manifest)


async def delete_replica(client: RegistryClient, repository: str, digest: Digest) -> None:
    """Delete a manifest a ``RemoteSink`` put, first taking it out of its subject's fallback
    tag index (where the sink added it), so that a retry after a failure in between still
    finds the manifest to tell the subject by. RemoteNotFound when the manifest is gone."""
    manifest = await client.get_manifest(repository, str(digest), push=True)
    try:
        subject = parse_manifest(manifest.payload, manifest.media_type).subject
    except ManifestInvalid:
        subject = None  # not one the sink could have indexed
    if subject is not None:
        index = await _fallback_index(client, repository, subject.digest)
        listed = index.get("manifests", [])
        kept = [d for d in listed if d.get("digest") != str(digest)]
        if len(kept) != len(listed):
            index["manifests"] = kept
            await _put_fallback_index(client, repository, subject.digest, index)
    await client.delete_manifest(repository, str(digest))


async def _fallback_index(client: RegistryClient, repository: str, subject: Digest) -> Any:
    """The subject's fallback tag index as JSON (an empty one where there is none)."""
    try:
        existing = await client.get_manifest(repository, fallback_tag(subject), push=True)
    except RemoteNotFound:
        return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
    return json.loads(existing.payload)


async def _put_fallback_index(
    client: RegistryClient, repository: str, subject: Digest, index: Any
) -> None:
    payload = json.dumps(index, separators=(",", ":")).encode()
    await client.put_manifest(repository, fallback_tag(subject), mt.OCI_INDEX, payload)


def _descriptor_of(manifest: FetchedManifest) -> dict[str, Any]:
    """The descriptor the referrers API would list for ``manifest``."""
    parsed = parse_manifest(manifest.payload, manifest.media_type)
    descriptor: dict[str, Any] = {
        "mediaType": manifest.media_type,
        "digest": str(manifest.digest),
        "size": manifest.size,
    }
    artifact_type = parsed.referrer_artifact_type()
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if parsed.annotations:
        descriptor["annotations"] = parsed.annotations
    return descriptor
