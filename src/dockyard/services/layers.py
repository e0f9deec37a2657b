"""ECR's layer API: uploads in numbered byte ranges, on top of the same upload sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobUnknown,
    BlobUploadInvalid,
    DigestInvalid,
    EmptyUpload,
    LayerAlreadyExists,
    LayerPartTooSmall,
)
from dockyard.domain.records import RepositoryKey
from dockyard.services.blobs import Blobs
from dockyard.services.uploads import Uploads

MiB = 1 << 20
MIN_PART = 5 * MiB
PART_SIZE = 10 * MiB


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


class Layers:
    def __init__(self, uploads: Uploads, blobs: Blobs) -> None:
        self._uploads = uploads
        self._blobs = blobs

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
    ) -> tuple[list[tuple[str, int | None]], list[tuple[str, str, str]]]:
        """(digest, size or None when missing) per valid digest; failures for the rest."""
        layers: list[tuple[str, int | None]] = []
        failures: list[tuple[str, str, str]] = []
        for text in digests:
            try:
                digest = Digest.parse(text)
            except DigestInvalid:
                failures.append((text, "InvalidLayerDigest", "Invalid layer digest"))
                continue
            try:
                layers.append((text, await self._blobs.probe(key, digest)))
            except BlobUnknown:
                failures.append((text, "MissingLayerDigest", "Requested layer not found"))
        return layers, failures
