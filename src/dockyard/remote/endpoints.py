"""A repository of a remote registry as an image source or sink of the copy engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.manifests import Descriptor, parse_manifest
from dockyard.remote.client import RegistryClient, fallback_tag
from dockyard.remote.content import FetchedManifest
from dockyard.remote.errors import RemoteNotFound

__all__ = ["RecordingSink", "RemoteSink", "RemoteSource"]


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
        tag = fallback_tag(subject)
        index: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
        try:
            existing = await self.client.get_manifest(self.repository, tag, push=True)
            index = json.loads(existing.payload)
        except RemoteNotFound:
            pass
        listed = index.setdefault("manifests", [])
        if any(d.get("digest") == str(referrer.digest) for d in listed):
            return
        listed.append(_descriptor_of(referrer))
        payload = json.dumps(index, separators=(",", ":")).encode()
        await self.client.put_manifest(self.repository, tag, mt.OCI_INDEX, payload)


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
