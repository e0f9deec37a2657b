"""Copying an image from a source to a sink: the engine under replication and the
pull-through cache.

A source and a sink are small protocols, so that the same engine copies between two remote
registries (``endpoints.RemoteSource`` / ``RemoteSink``) or between a remote registry and
Dockyard's own services (written by the features that need it). The order is the one every
registry accepts: a manifest's blobs before the manifest, an index's children before the
index, a subject before its referrers. Blobs the sink holds are skipped, each blob is
copied once however many manifests name it, and at most ``concurrency`` blobs are in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.errors import DockyardError
from dockyard.domain.manifests import Descriptor, Manifest, parse_manifest
from dockyard.remote.content import FetchedManifest
from dockyard.remote.errors import DigestMismatch, RemoteInvalidResponse

__all__ = ["CopyResult", "ImageSink", "ImageSource", "copy_image"]


class ImageSource(Protocol):
    """Where an image is read from."""

    async def get_manifest(self, reference: str) -> FetchedManifest:
        """The manifest under a tag or a digest, its bytes exactly as stored, their digest
        checked (against the reference when it is a digest)."""
        ...

    def open_blob(self, descriptor: Descriptor) -> AsyncIterator[bytes]:
        """The blob's bytes in order. The iterator must raise (before ending) when the bytes
        do not match the descriptor's digest and size. The engine ``aclose``s it."""
        ...

    async def referrers(self, subject: Digest) -> list[Descriptor]:
        """Descriptors of the manifests whose subject is ``subject`` (empty when none)."""
        ...


class ImageSink(Protocol):
    """Where an image is written to."""

    async def has_blob(self, descriptor: Descriptor) -> bool:
        """Whether the destination already holds the blob (it is then not copied)."""
        ...

    async def put_blob(
        self, descriptor: Descriptor, open_stream: Callable[[], AsyncIterator[bytes]]
    ) -> None:
        """Store the blob. Call ``open_stream()`` only when the bytes are needed: a sink that
        obtains the blob otherwise (a cross-repository mount) does not call it."""
        ...

    async def put_manifest(self, reference: str, manifest: FetchedManifest) -> None:
        """Store the manifest bytes unchanged under ``reference`` (the source's tag, or the
        manifest's digest). Its blobs and children are already in the sink."""
        ...


@dataclass
class CopyResult:
    """What a copy did, updated as it goes (``progress`` callbacks see it grow)."""

    reference: str
    digest: Digest | None = None  # of the top manifest, once fetched
    media_type: str | None = None
    manifests: list[Digest] = field(default_factory=list)  # put, children before parents
    referrers: int = 0  # of ``manifests``, how many were referrers
    blobs_copied: int = 0  # whose bytes went from the source to the sink
    blobs_skipped: int = 0  # the sink had them
    blobs_mounted: int = 0  # the sink got them without reading the source (mount)
    bytes_copied: int = 0  # through the engine, so far


Progress = Callable[[CopyResult], Awaitable[None] | None]


async def copy_image(
    source: ImageSource,
    sink: ImageSink,
    reference: str,
    *,
    target_reference: str | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy the image under ``reference`` (tag or digest): a manifest with its blobs, or an
    index with every child; with ``include_referrers``, every manifest whose subject is one
    of those too (signatures, SBOMs), and theirs. The top manifest is put under
    ``target_reference`` (default: ``reference``), everything else by digest."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    copier = _Copier(source, sink, CopyResult(reference), concurrency, include_referrers, progress)
    top = await source.get_manifest(reference)
    copier.result.digest, copier.result.media_type = top.digest, top.media_type
    await copier.manifest(top, target_reference or reference, referrer=False)
    return copier.result


class _Copier:
    def __init__(
        self,
        source: ImageSource,
        sink: ImageSink,
        result: CopyResult,
        concurrency: int,
        include_referrers: bool,
        progress: Progress | None,
    ) -> None:
        self.source, self.sink, self.result = source, sink, result
        self.slots = asyncio.Semaphore(concurrency)
        self.include_referrers = include_referrers
        self.progress = progress
        self.blobs: dict[Digest, asyncio.Task[None]] = {}
        self.manifests: dict[Digest, asyncio.Task[None]] = {}

    async def manifest(self, fetched: FetchedManifest, put_as: str, *, referrer: bool) -> None:
        parsed = _parse(fetched)
        if parsed.is_index:
            await _all(self.child(d) for d in parsed.manifests)
        else:
            await _all(self.blob(d) for d in _blobs_of(parsed))
        await self.sink.put_manifest(put_as, fetched)
        self.result.manifests.append(fetched.digest)
        self.result.referrers += referrer
        await self.report()
        if self.include_referrers:
            found = await self.source.referrers(fetched.digest)
            await _all(self.child(d, referrer=True) for d in found)

    async def child(self, descriptor: Descriptor, *, referrer: bool = False) -> None:
        """A manifest named by digest (an index's child or a referrer), copied once."""
        task = self.manifests.get(descriptor.digest)
        if task is None:
            task = asyncio.ensure_future(self._child(descriptor, referrer))
            self.manifests[descriptor.digest] = task
        await task

    async def _child(self, descriptor: Descriptor, referrer: bool) -> None:
        fetched = await self.source.get_manifest(str(descriptor.digest))
        if fetched.digest != descriptor.digest or fetched.size != descriptor.size:
            raise DigestMismatch(
                "source",
                f"manifest {descriptor.digest}",
                f"{descriptor.digest} ({descriptor.size} bytes)",
                f"{fetched.digest} ({fetched.size} bytes)",
            )
        await self.manifest(fetched, str(descriptor.digest), referrer=referrer)

    async def blob(self, descriptor: Descriptor) -> None:
        task = self.blobs.get(descriptor.digest)
        if task is None:
            task = asyncio.ensure_future(self._blob(descriptor))
            self.blobs[descriptor.digest] = task
        await task

    async def _blob(self, descriptor: Descriptor) -> None:
        async with self.slots:
            if await self.sink.has_blob(descriptor):
                self.result.blobs_skipped += 1
                await self.report()
                return
            opened: list[AsyncIterator[bytes]] = []

            def open_stream() -> AsyncIterator[bytes]:
                stream = self._counted(self.source.open_blob(descriptor))
                opened.append(stream)
                return stream

            try:
                await self.sink.put_blob(descriptor, open_stream)
            finally:
                for stream in opened:
                    await _aclose(stream)
            if opened:
                self.result.blobs_copied += 1
            else:
                self.result.blobs_mounted += 1
            await self.report()

    async def _counted(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for chunk in stream:
                self.result.bytes_copied += len(chunk)
                yield chunk
        finally:
            await _aclose(stream)

    async def report(self) -> None:
        if self.progress is not None:
            outcome = self.progress(self.result)
            if outcome is not None:
                await outcome


def _parse(fetched: FetchedManifest) -> Manifest:
    try:
        parsed = parse_manifest(fetched.payload, fetched.media_type)
    except DockyardError as exc:
        raise RemoteInvalidResponse(
            "source", f"manifest {fetched.digest}: {exc.describe()}"
        ) from None
    if parsed.media_type not in mt.MANIFESTS:
        raise RemoteInvalidResponse(
            "source", f"manifest {fetched.digest}: unknown media type {parsed.media_type!r}"
        )
    return parsed


def _blobs_of(manifest: Manifest) -> list[Descriptor]:
    """Config and layers, less the foreign layers that live elsewhere by design."""
    blobs = [manifest.config] if manifest.config is not None else []
    blobs += [
        d for d in manifest.layers if not (d.media_type in mt.NON_DISTRIBUTABLE and d.has_urls)
    ]
    return blobs


async def _all(work: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; on the first failure cancel the rest and raise that failure as
    itself (not an ExceptionGroup), so callers can catch the typed remote errors."""
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _aclose(stream: AsyncIterator[bytes]) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        await closer()
