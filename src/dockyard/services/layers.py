"""ECR's layer API: uploads in numbered byte ranges, on top of the same upload sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobUnknown,
    BlobUploadInvalid,
    DigestInvalid,
    EmptyUpload,
    LayerAlreadyExists,
    LayerPartTooSmall,
)
from dockyard.domain.manifests import Descriptor, parse_manifest
from dockyard.domain.records import RepositoryKey
from dockyard.metadata import ImageStore
from dockyard.services.blobs import Blobs
from dockyard.services.threads import blocking
from dockyard.services.uploads import Uploads

MiB = 1 << 20
MIN_PART = 5 * MiB
PART_SIZE = 10 * MiB


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


# What BatchCheckLayerAvailability reports for a layer no manifest names yet: ECR's layer API
# is the Docker-era upload path, and ECR reports Docker's layer type for what it received.
UNREFERENCED_LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True, slots=True)
class AvailableLayer:
    digest: str  # as the request spelled it
    size: int
    media_type: str


class Layers:
    def __init__(self, uploads: Uploads, blobs: Blobs, images: ImageStore) -> None:
        self._uploads = uploads
        self._blobs = blobs
        self._images = images

    async def initiate(self, key: RepositoryKey) -> tuple[str, int]:
        state = await self._uploads.start(key)
        return state.upload_id, PART_SIZE

    async def upload_part(
        self, key: RepositoryKey, upload_id: str, first: int, last: int, data: bytes
    ) -> int:
        """Append one part; returns the last byte received so far."""
        state = await self._uploads.status(key, upload_id)
        if state.last_part_size is not None and state.offset and state.last_part_size < MIN_PART:
            raise LayerPartTooSmall(upload_id, state.last_part_size)
        if last - first + 1 != len(data):
            raise BlobUploadInvalid(
                f"part {first}-{last} should hold {last - first + 1} bytes, not {len(data)}"
            )
        state = await self._uploads.append(key, upload_id, _once(data), first, len(data))
        return state.offset - 1

    async def complete(self, key: RepositoryKey, upload_id: str, digests: list[str]) -> Digest:
        if len(digests) != 1:
            raise DigestInvalid(",".join(digests), "exactly one layer digest is expected")
        digest = Digest.parse(digests[0])
        state = await self._uploads.status(key, upload_id)
        if state.offset == 0:
            raise EmptyUpload(upload_id)
        try:
            await self._blobs.size(key, digest)
        except BlobUnknown:
            pass
        else:
            await self._uploads.cancel(key, upload_id)
            raise LayerAlreadyExists(str(digest))
        await self._uploads.complete(key, upload_id, digest, _nothing())
        return digest

    async def availability(
        self, key: RepositoryKey, digests: list[str]
    ) -> tuple[list[AvailableLayer], list[tuple[str, str, str]]]:
        """The layers the repository holds; (digest, code, reason) failures for the rest."""
        held: list[tuple[str, Digest, int]] = []
        failures: list[tuple[str, str, str]] = []
        for text in digests:
            try:
                digest = Digest.parse(text)
            except DigestInvalid:
                failures.append((text, "InvalidLayerDigest", "Invalid layer digest"))
                continue
            try:
                held.append((text, digest, await self._blobs.probe(key, digest)))
            except BlobUnknown:
                failures.append((text, "MissingLayerDigest", "Requested layer not found"))
        media_types = await self._media_types(key, [digest for _, digest, _ in held])
        layers = [
            AvailableLayer(text, size, media_types.get(digest, UNREFERENCED_LAYER_MEDIA_TYPE))
            for text, digest, size in held
        ]
        return layers, failures

    async def _media_types(self, key: RepositoryKey, digests: list[Digest]) -> dict[Digest, str]:
        """Each blob's media type as a manifest of the repository describes it."""
        if not digests:
            return {}
        naming = await blocking(self._images.manifests_naming_blobs, key, digests)
        parsed: dict[bytes, list[Descriptor]] = {}
        found: dict[Digest, str] = {}
        for digest, (payload, media_type) in naming.items():
            if payload not in parsed:
                manifest = parse_manifest(payload, media_type)
                config = [manifest.config] if manifest.config else []
                parsed[payload] = [*config, *manifest.layers]
            for descriptor in parsed[payload]:
                if descriptor.digest == digest:
                    found[digest] = descriptor.media_type
                    break
        return found
