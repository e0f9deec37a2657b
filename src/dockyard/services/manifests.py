"""Pushing and pulling manifests, tags and referrers."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from dockyard.domain.digests import Digest
from dockyard.domain.errors import DigestInvalid, ManifestTooLarge, ManifestUnknown, NameUnknown
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.names import Reference, Tag, lookup_reference
from dockyard.domain.records import (
    NewManifest,
    Page,
    PutOutcome,
    Referrer,
    RepositoryKey,
    StoredManifest,
)
from dockyard.metadata import ContentStore
from dockyard.services.pulls import Pulls
from dockyard.services.threads import blocking, quick_read

PushHook = Callable[[RepositoryKey, PutOutcome], Awaitable[None]]
# Whether a push to the missing repository ``key`` would create it (create on push).
Creatable = Callable[[RepositoryKey], Awaitable[bool]]


async def _never(key: RepositoryKey) -> bool:
    return False


class Manifests:
    def __init__(
        self,
        metadata: ContentStore,
        pulls: Pulls,
        max_manifest_bytes: int,
        idempotent_repush: bool,
        creatable: Creatable = _never,
    ) -> None:
        self._metadata = metadata
        self._pulls = pulls
        self._after_push: list[PushHook] = []
        self.max_manifest_bytes = max_manifest_bytes
        self._idempotent_repush = idempotent_repush
        self._creatable = creatable

    async def put(
        self,
        key: RepositoryKey,
        reference: Reference,
        payload: bytes,
        content_type: str | None,
        tags: Sequence[Tag] = (),
        *,
        replica: bool = False,
    ) -> PutOutcome:
        """Store a manifest under ``reference`` and point ``tags`` at it as well (the
        distribution spec's ``?tag=`` on a push by digest): all of them or none.
        ``replica``: written by replication (the hooks see it, so it goes no further)."""
        if len(payload) > self.max_manifest_bytes:
            raise ManifestTooLarge(self.max_manifest_bytes)
        algorithm = reference.algorithm if isinstance(reference, Digest) else "sha256"
        digest = Digest.of(payload, algorithm)
        if isinstance(reference, Digest) and reference != digest:
            raise DigestInvalid(str(reference), f"manifest has digest {digest}")
        manifest = parse_manifest(payload, content_type)
        record = NewManifest(
            digest=digest,
            media_type=manifest.media_type,
            payload=payload,
            artifact_type=manifest.referrer_artifact_type(),
            subject=manifest.subject.digest if manifest.subject else None,
            annotations=manifest.annotations,
            blobs=tuple(manifest.required_blobs()),
            children=tuple(manifest.child_manifests()),
            config_media_type=manifest.config.media_type if manifest.config else None,
            layers_size=sum(layer.size for layer in manifest.layers),
        )
        to_set = (reference, *tags) if isinstance(reference, Tag) else tuple(tags)
        outcome = await blocking(
            self._metadata.put_manifest, key, record, to_set, self._idempotent_repush
        )
        if replica:
            outcome = dataclasses.replace(outcome, replica=True)
        for hook in self._after_push:
            await hook(key, outcome)
        return outcome

    def after_push(self, hook: PushHook) -> None:
        """Call ``hook`` after every stored push (scan on push; later events, replication)."""
        self._after_push.append(hook)

    async def lookup(self, key: RepositoryKey, text: str) -> Reference:
        """The reference a GET, HEAD or DELETE names.

        Text that is no valid tag or digest names nothing the repository could hold: it is
        unknown like any other missing manifest (after the repository itself, so that a
        missing repository still answers NAME_UNKNOWN).
        """
        reference = lookup_reference(text)
        if reference is None:
            await blocking(self._metadata.check_repository, key)
            raise ManifestUnknown(text)
        return reference

    async def get(
        self, key: RepositoryKey, reference: Reference, with_payload: bool = True
    ) -> StoredManifest:
        return await quick_read(
            self._metadata.reads_are_local,
            self._metadata.get_manifest,
            key,
            reference,
            with_payload,
        )

    async def pull(
        self, key: RepositoryKey, reference: Reference, principal_arn: str | None
    ) -> StoredManifest:
        """A manifest fetched to be pulled: noted for ``lastRecordedPullTime``."""
        manifest = await self.get(key, reference)
        self._pulls.note(key, manifest.digest, principal_arn)
        return manifest

    async def tags(self, key: RepositoryKey, last: str | None, limit: int | None) -> Page:
        return await blocking(self._metadata.list_tags, key, last, limit)

    async def referrers(
        self, key: RepositoryKey, subject: Digest, artifact_type: str | None
    ) -> list[Referrer]:
        try:
            found = await blocking(self._metadata.referrers, key, subject)
        except NameUnknown:
            # A repository a push would create is one nothing was pushed to yet: it has no
            # referrers. Clients ask before their first push, and read a 404 as "no
            # referrers API" (then fall back to the tag schema).
            if not await self._creatable(key):
                raise
            return []
        if artifact_type is not None:
            found = [r for r in found if r.artifact_type == artifact_type]
        return found
