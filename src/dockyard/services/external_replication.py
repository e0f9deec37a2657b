"""Replication to an external registry: the image copied with ``dockyard.remote``'s copy
engine, from this registry's services (``LocalSource``) to the registered registry
(``RecordingSink``), noting each manifest the copy created there.

The copy is the engine's: the manifest (an index with every child), its blobs (skipped
when the destination holds them), every referrer whose subject is one of those
(signatures, SBOMs; added to the subject's fallback tag index where the registry has no
referrers API), then the tags. Every step is idempotent, so a rerun ends in the same
image. What the registry's answers mean for the replication:

* it cannot answer now (unreachable, timeout, 429, 5xx) or answered nonsense: a
  transient error, retried with backoff by the job queue;
* it refused the credentials (401), the access (403), or what was sent (another 4xx):
  FAILED with a failure code, not retried (``dockyard replication retry`` once fixed).

A manifest the destination repository did not hold before is recorded as created by
replication before it is put, so a run that dies between the two still knows it; delete
propagation deletes only those.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from dockyard.domain.digests import Digest
from dockyard.domain.errors import ExternalRegistryNotFound
from dockyard.domain.manifests import Descriptor
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.replication import Destination, FailureCode
from dockyard.metadata import ReplicationStore
from dockyard.remote import (
    FetchedManifest,
    RemoteDenied,
    RemoteNotFound,
    RemoteRejected,
    RemoteUnauthorized,
    RemoteUnsupported,
    copy_image,
)
from dockyard.remote.content import verified
from dockyard.services.blobs import Blobs
from dockyard.services.external import CredentialsUnavailable, ExternalRegistries
from dockyard.services.manifests import Manifests
from dockyard.services.replication import ReplicationRefused
from dockyard.services.threads import blocking

__all__ = ["ExternalReplicator", "LocalSource"]


class LocalSource:
    """One repository of this registry as the copy engine's ``ImageSource``."""

    def __init__(self, manifests: Manifests, blobs: Blobs, key: RepositoryKey) -> None:
        self._manifests, self._blobs, self._key = manifests, blobs, key

    async def get_manifest(self, reference: str) -> FetchedManifest:
        stored = await self._manifests.get(self._key, Digest.parse(reference))
        assert stored.payload is not None
        return FetchedManifest(stored.digest, stored.media_type, stored.payload)

    def open_blob(self, descriptor: Descriptor) -> AsyncIterator[bytes]:
        digest, what = descriptor.digest, f"blob {descriptor.digest}"
        return verified(self._held(digest), "source", what, digest, descriptor.size)

    async def _held(self, digest: Digest) -> AsyncIterator[bytes]:
        await self._blobs.size(self._key, digest)  # BlobUnknown unless the repository holds it
        async for chunk in self._blobs.stream(digest):
            yield chunk

    async def referrers(self, subject: Digest) -> list[Descriptor]:
        found = await self._manifests.referrers(self._key, subject, None)
        return [
            Descriptor(r.media_type, r.digest, r.size, r.artifact_type, dict(r.annotations))
            for r in found
        ]


class ExternalReplicator:
    def __init__(
        self,
        registries: ExternalRegistries,
        store: ReplicationStore,
        manifests: Manifests,
        blobs: Blobs,
    ) -> None:
        self._registries = registries
        self._store = store
        self._manifests = manifests
        self._blobs = blobs

    async def registered(self, scope: Scope, name: str) -> bool:
        try:
            await self._registries.get(scope, name)
        except ExternalRegistryNotFound:
            return False
        return True

    async def copy(
        self, source: RepositoryKey, digest: Digest, to: Destination, tags: Sequence[str]
    ) -> dict[str, Any]:
        """Copy the image to the external registry ``to`` under the source's repository
        name, with ``tags``; ReplicationRefused when the registry's answer will not change
        by running again."""
        from dockyard.remote import RecordingSink  # its HTTP stack loads on the first copy

        assert to.name is not None
        owner = Scope(to.account_id, to.region)
        repository = source.name.value

        async def record(created: str) -> None:
            now = datetime.now(UTC)
            await blocking(self._store.record_created, source, [created], to, repository, now)

        try:
            async with self._registries.client(owner, to.name) as client:
                local = LocalSource(self._manifests, self._blobs, source)
                sink = RecordingSink(client, repository, record)
                result = await copy_image(local, sink, str(digest), include_referrers=True)
                top = await local.get_manifest(str(digest))
                for tag in tags:
                    await client.put_manifest(repository, tag, top.media_type, top.payload)
        except ExternalRegistryNotFound as exc:
            code = FailureCode.EXTERNAL_REGISTRY_NOT_FOUND
            raise ReplicationRefused(code, exc.describe()) from None
        except CredentialsUnavailable as exc:
            raise ReplicationRefused(FailureCode.CREDENTIALS_UNAVAILABLE, str(exc)) from None
        except RemoteUnauthorized as exc:
            raise ReplicationRefused(FailureCode.AUTHENTICATION_FAILED, str(exc)) from None
        except RemoteDenied as exc:
            raise ReplicationRefused(FailureCode.ACCESS_DENIED, str(exc)) from None
        except (RemoteRejected, RemoteNotFound, RemoteUnsupported) as exc:
            raise ReplicationRefused(FailureCode.REJECTED, str(exc)) from None
        return {
            "destination": to.id,
            "manifests": [str(d) for d in result.manifests],
            "created": sink.created,
            "blobs_copied": result.blobs_copied,
            "blobs_skipped": result.blobs_skipped,
            "tags": list(tags),
        }
