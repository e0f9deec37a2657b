"""Replication: each registry's configuration, the copy of an image to a destination, and
its status (backfills, which queue copies of older images, are ``backfills.py``'s).

A push that stores a new image or moves a tag (``/v2`` or PutImage: both call
``Manifests.put``) in a repository some rule covers queues one ``replicate-image`` job per
destination. One job per image and destination, not per image: each destination
succeeds, fails and is retried on its own, so an account whose policy refuses does not
hold back (or re-run) the copy to another region.

The job copies the image as it is at the source when it runs: the manifest (an index
with all its child manifests, children first), the referrers whose ``subject`` is any of
them (signatures, SBOMs, and their own referrers), and the tags that point at the image
then. Storage is one blob store for the whole deployment, so blobs are linked into the
destination repository, not copied; the destination counts them as its own (usage,
GC). Every step is idempotent (a link or a manifest held already is kept, a tag already
right is left alone), which is what makes the job's at-least-once delivery safe: a run
taken over from a dead node, or a rerun, ends in the same single image.

Replication acts as the source account (ECR's service-linked role; here the account's
root, which holds every permission its own account can give). The destination is asked
by the one policy decision (``Authorizer.decide``) for ``ecr:ReplicateImage`` on the
destination repository, and ``ecr:CreateRepository`` when it must be created: within one
account that is allowed unless a policy denies it, across accounts the destination's
registry policy must allow it, as in ECR. A missing repository is created through the
creation templates for REPLICATION, or with ECR's defaults when none applies.

Replicas are not replicated again: a registry replicating to another that replicates
back would otherwise copy for ever.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    AccessDenied,
    BlobUnknown,
    DockyardError,
    ExternalRegistryNotFound,
    ImageNotFound,
    ManifestUnknown,
    NameUnknown,
    TagImmutable,
)
from dockyard.domain.identity import Principal, PrincipalKind
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.names import ECR_TAG_MAX, Tag
from dockyard.domain.records import ImageId, PutOutcome, RepositoryKey, Scope, StoredManifest
from dockyard.domain.replication import (
    Destination,
    DestinationKind,
    FailureCode,
    ImageReplication,
    ReplicationConfiguration,
    ReplicationStatus,
)
from dockyard.domain.templates import ROOT, AppliedFor, CreationTemplate, TemplateSettings
from dockyard.metadata.backfills import BackfillStore
from dockyard.metadata.replication import ReplicationStore
from dockyard.services.authorization import (
    NO_FACTS,
    Authorizer,
    denial_message,
    repository_target,
)
from dockyard.services.blobs import Blobs
from dockyard.services.images import Images
from dockyard.services.job_payloads import (
    PermanentJobError,
    PropagateDeletePayload,
    ReplicatePayload,
)
from dockyard.services.jobs import Jobs
from dockyard.services.manifests import Manifests
from dockyard.services.repositories import Repositories
from dockyard.services.templates import Templates
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)

#: ECR's repository for a replica when no creation template applies: default settings
#: (mutable tags, AES256, no policies), as a ROOT template for REPLICATION would give.
DEFAULT_REPLICATION = CreationTemplate(
    ROOT,
    TemplateSettings(applied_for=(AppliedFor.REPLICATION,)),
    datetime.fromtimestamp(0, UTC),
    datetime.fromtimestamp(0, UTC),
)
# An image is at most this many manifests (itself, children, referrers): a bound on what
# one job reads, far above any real image (a 40-platform index with two signatures each).
MAX_MANIFESTS = 1000


class ExternalCopier(Protocol):
    """Replication to registries outside the deployment (``external_replication.py``)."""

    async def registered(self, scope: Scope, name: str) -> bool: ...

    async def copy(
        self, source: RepositoryKey, digest: Digest, to: Destination, tags: Sequence[str]
    ) -> dict[str, Any]: ...


class ReplicationRefused(PermanentJobError):
    """A replication that cannot succeed by running again; ``code`` is its failureCode."""

    def __init__(self, code: FailureCode, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True, slots=True)
class _Piece:
    manifest: StoredManifest
    payload: bytes


def _now() -> datetime:
    return datetime.now(UTC)


def _failure_code(exc: DockyardError) -> FailureCode:
    if isinstance(exc, AccessDenied):
        return FailureCode.ACCESS_DENIED
    if isinstance(exc, TagImmutable):
        return FailureCode.TAG_IMMUTABLE
    if isinstance(exc, (ManifestUnknown, NameUnknown, ImageNotFound, BlobUnknown)):
        return FailureCode.SOURCE_IMAGE_NOT_FOUND
    return FailureCode.ERROR


class Replication:
    def __init__(
        self,
        store: ReplicationStore,
        backfills: BackfillStore,
        manifests: Manifests,
        images: Images,
        blobs: Blobs,
        repositories: Repositories,
        templates: Templates,
        authz: Authorizer,
        jobs: Jobs,
        served: frozenset[str],
    ) -> None:
        self.external: ExternalCopier | None = None  # set once the registry has one
        self._store = store
        self._backfills = backfills
        self._manifests = manifests
        self._images = images
        self._blobs = blobs
        self._repositories = repositories
        self._templates = templates
        self._authz = authz
        self._jobs = jobs
        self._served = served

    # Configuration -----------------------------------------------------------

    async def configuration(self, scope: Scope) -> ReplicationConfiguration:
        return await blocking(self._store.configuration, scope)

    async def configure(
        self, scope: Scope, config: ReplicationConfiguration
    ) -> ReplicationConfiguration:
        """PutReplicationConfiguration: replace the registry's configuration (no rules
        turns replication off); images already pushed are not replicated by it (a
        backfill does that)."""
        config.check(scope, self._served)
        for destination in config.all_destinations():
            if destination.is_external:
                assert destination.name is not None
                if self.external is None or not await self.external.registered(
                    scope, destination.name
                ):
                    raise ExternalRegistryNotFound(destination.name, scope.account_id)
        await blocking(self._store.put_configuration, scope, config, _now())
        return config

    # Queueing ----------------------------------------------------------------

    async def on_push(self, key: RepositoryKey, outcome: PutOutcome) -> None:
        """After a stored push: queue the image's replication to each destination of the
        rules that cover its repository, when the push changed something."""
        if outcome.replica or not (outcome.new_manifest or outcome.tag_moved or outcome.restored):
            return
        config = await self.configuration(key.scope)
        destinations = config.destinations_for(key.name)
        if destinations and config.filters_tags:
            # A referrer (a signature, an SBOM) goes where its subject's tags send it.
            tags = await self.tags_of(key, outcome.subject or outcome.digest)
            destinations = config.targets(key.name, tags)
        if not destinations:
            return
        try:
            await blocking(self._store.queued, key, str(outcome.digest), destinations, _now())
        except NameUnknown:
            return  # deleted since the push stored it: nothing left to replicate
        for destination in destinations:
            await self._jobs.enqueue(payload_for(key, outcome.digest, destination))

    async def tags_of(self, key: RepositoryKey, digest: Digest) -> tuple[str, ...]:
        """The image's tags now (none when it is not, or no longer, there)."""
        try:
            return tuple((await self._images.summary(key, digest)).tags)
        except ImageNotFound:
            return ()

    # Status ------------------------------------------------------------------

    async def statuses(
        self, key: RepositoryKey, image_id: ImageId
    ) -> tuple[Digest, list[ImageReplication]]:
        """DescribeImageReplicationStatus: the image's digest and its status at each
        destination it was queued for (none: never replicated)."""
        digest = await self._images.resolve(key, image_id)
        found = await blocking(self._store.statuses, key, str(digest))
        return digest, [self._as_reported(each, _now()) for each in found]

    async def every_status(
        self,
        account_id: str | None = None,
        region: str | None = None,
        repository: str | None = None,
        status: ReplicationStatus | None = None,
        limit: int = 1000,
    ) -> list[tuple[RepositoryKey, str, ImageReplication]]:
        """The operator's view (``dockyard replication status``): statuses of every
        registry, or of one account, region or repository, newest change first."""
        # FAILED includes runs reported failed below, stored as IN_PROGRESS.
        stored = None if status is ReplicationStatus.FAILED else status
        found = await blocking(
            self._store.every_status, account_id, region, repository, stored, limit
        )
        now = _now()
        reported = [(key, digest, self._as_reported(each, now)) for key, digest, each in found]
        return [row for row in reported if status in (None, row[2].status)]

    def _as_reported(self, found: ImageReplication, now: datetime) -> ImageReplication:
        """A status as it stands: a last run allowed that began over a lease ago and never
        ended had its node die under it, and the job queue fails such a job without a
        word to its handler; report it FAILED rather than IN_PROGRESS for ever. (A live
        run renews its job's lease, but a copy is metadata work of seconds, far under a
        lease.)"""
        stale = now - found.updated_at > self._jobs.lease
        if (
            found.status is ReplicationStatus.IN_PROGRESS
            and found.attempts >= self._jobs.max_attempts
            and stale
        ):
            return dataclasses.replace(
                found,
                status=ReplicationStatus.FAILED,
                failure_code=FailureCode.ERROR.value,
                last_error=found.last_error or "its server stopped during the last run allowed",
            )
        return found

    async def retry(
        self,
        account_id: str | None = None,
        region: str | None = None,
        repository: str | None = None,
        digest: str | None = None,
    ) -> list[tuple[RepositoryKey, str, Destination]]:
        """Queue again every FAILED replication (of one account, region, repository or
        image, when named): ``dockyard replication retry``. What it queued."""
        failed = await self.every_status(
            account_id, region, repository, ReplicationStatus.FAILED, limit=100_000
        )
        queued = []
        for key, image, found in failed:
            if digest is not None and image != digest:
                continue
            try:
                await blocking(self._store.queued, key, image, [found.destination], _now())
            except NameUnknown:
                continue
            await self._jobs.enqueue(payload_for(key, Digest.parse(image), found.destination))
            queued.append((key, image, found.destination))
        return queued

    # Running -----------------------------------------------------------------

    async def run(self, payload: ReplicatePayload) -> dict[str, Any]:
        """The replicate-image job: copy, and record the outcome in the image's status."""
        key, digest = payload.key, payload.digest
        destination = payload_destination(payload)
        stopped = payload.backfill_id is not None and await blocking(
            self._backfills.is_stopped, payload.backfill_id
        )
        if stopped:
            await self._item_ended(
                payload, destination, ReplicationStatus.FAILED, FailureCode.BACKFILL_STOPPED
            )
            return {"skipped": "backfill stopped"}
        attempts = await blocking(self._store.started, key, str(digest), destination, _now())
        try:
            copied = await self._copy(key, digest, destination)
        except ReplicationRefused as refused:
            await self._ended(
                payload, destination, ReplicationStatus.FAILED, refused.code, refused.reason
            )
            raise
        except DockyardError as exc:  # the registry's considered answer: permanent
            await self._ended(
                payload, destination, ReplicationStatus.FAILED, _failure_code(exc), exc.describe()
            )
            raise
        except asyncio.CancelledError:
            raise  # a shutdown or a lost lease: whoever runs it next records the outcome
        except Exception as exc:
            # Retried with backoff by the job queue, unless this was its last run.
            last = attempts >= self._jobs.max_attempts
            status = ReplicationStatus.FAILED if last else ReplicationStatus.IN_PROGRESS
            final = FailureCode.ERROR if last else None
            await self._ended(payload, destination, status, final, f"{type(exc).__name__}: {exc}")
            raise
        await self._ended(payload, destination, ReplicationStatus.COMPLETE, None, None)
        return copied

    async def _ended(
        self,
        payload: ReplicatePayload,
        destination: Destination,
        status: ReplicationStatus,
        code: FailureCode | None,
        error: str | None,
    ) -> None:
        await blocking(
            self._store.ended,
            payload.key,
            str(payload.digest),
            destination,
            status,
            None if code is None else code.value,
            error,
            _now(),
        )
        if status is not ReplicationStatus.IN_PROGRESS:
            await self._item_ended(payload, destination, status, code)

    async def _item_ended(
        self,
        payload: ReplicatePayload,
        destination: Destination,
        status: ReplicationStatus,
        code: FailureCode | None,
    ) -> None:
        if payload.backfill_id is None:
            return
        await blocking(
            self._backfills.item_ended,
            payload.backfill_id,
            payload.repository,
            str(payload.digest),
            destination,
            status,
            None if code is None else code.value,
            _now(),
        )

    async def _copy(self, source: RepositoryKey, digest: Digest, to: Destination) -> dict[str, Any]:
        config = await self.configuration(source.scope)
        tags = config.tags_for(source.name, to, await self.tags_of(source, digest))
        if to.is_external:
            if self.external is None:
                raise ReplicationRefused(FailureCode.ERROR, "no external replication here")
            return await self.external.copy(source, digest, to, tags)
        return await self._copy_within(source, digest, to, tags)

    async def _copy_within(
        self, source: RepositoryKey, digest: Digest, to: Destination, tags: Sequence[str]
    ) -> dict[str, Any]:
        target = RepositoryKey(to.scope, source.name)
        if to.scope == source.scope:
            raise ReplicationRefused(FailureCode.ERROR, "the destination is the source registry")
        pieces = await self._closure(source, digest)
        created = await self._prepare(source.scope.account_id, target)
        for piece in pieces:
            parsed = parse_manifest(piece.payload, piece.manifest.media_type)
            for blob in parsed.required_blobs():
                if not await self._blobs.mount(source, target, blob):
                    raise ReplicationRefused(
                        FailureCode.SOURCE_IMAGE_NOT_FOUND,
                        f"blob {blob} is no longer held by the source repository",
                    )
            if not await self._holds(target, piece.manifest.digest):
                # Noted before the put, so a run that dies in between still knows.
                await blocking(
                    self._store.record_created,
                    source,
                    [str(piece.manifest.digest)],
                    to,
                    target.name.value,
                    _now(),
                )
            await self._manifests.put(
                target,
                piece.manifest.digest,
                piece.payload,
                piece.manifest.media_type,
                replica=True,
            )
        root = next(p for p in pieces if p.manifest.digest == digest)
        blocked = []
        for tag in tags:
            try:
                if await self._images.resolve(target, ImageId(tag=tag)) == digest:
                    continue  # already right: an immutable tag is not pushed again
            except ImageNotFound:
                pass
            try:
                await self._manifests.put(
                    target,
                    digest,
                    root.payload,
                    root.manifest.media_type,
                    (Tag.parse(tag, ECR_TAG_MAX),),
                    replica=True,
                )
            except TagImmutable:
                blocked.append(tag)
        if blocked:
            raise ReplicationRefused(
                FailureCode.TAG_IMMUTABLE,
                f"the image was replicated, but tag(s) {', '.join(blocked)} point at another "
                f"image in the destination repository, whose tags are immutable",
            )
        return {
            "destination": to.id,
            "repository_created": created,
            "manifests": [str(p.manifest.digest) for p in pieces],
            "tags": list(tags),
        }

    async def _holds(self, key: RepositoryKey, digest: Digest) -> bool:
        try:
            await self._manifests.get(key, digest, with_payload=False)
        except ManifestUnknown:
            return False
        return True

    async def _prepare(self, source_account: str, target: RepositoryKey) -> bool:
        """Check the destination lets the source account replicate (and create the
        repository, when it is missing), then create it; whether it was created."""
        principal = Principal(source_account, "root", PrincipalKind.ROOT)
        exists = await self._repositories.exists(target)
        actions = (
            ["ecr:ReplicateImage"] if exists else ["ecr:CreateRepository", "ecr:ReplicateImage"]
        )
        for action in actions:
            asked = repository_target(action, target)
            decision = await self._authz.decide(principal, asked, NO_FACTS)
            if not decision.allowed:
                raise ReplicationRefused(
                    FailureCode.ACCESS_DENIED, denial_message(principal.arn, asked, decision)
                )
        if exists:
            return False
        await self._templates.create_repository_from_template(
            target.scope, target.name, AppliedFor.REPLICATION, DEFAULT_REPLICATION
        )
        return True

    async def _closure(self, source: RepositoryKey, digest: Digest) -> list[_Piece]:
        """The image's manifests in an order the destination accepts them: each child
        before its index; referrers after their subject."""
        pieces: list[_Piece] = []
        seen: set[Digest] = set()

        async def visit(current: Digest) -> None:
            if current in seen:
                return
            seen.add(current)
            if len(seen) > MAX_MANIFESTS:
                raise ReplicationRefused(
                    FailureCode.ERROR, f"the image has more than {MAX_MANIFESTS} manifests"
                )
            stored = await self._manifests.get(source, current)
            assert stored.payload is not None
            parsed = parse_manifest(stored.payload, stored.media_type)
            for child in parsed.child_manifests():
                await visit(child)
            pieces.append(_Piece(stored, stored.payload))
            for referrer in await self._manifests.referrers(source, current, None):
                await visit(referrer.digest)

        await visit(digest)
        return pieces


def payload_for(
    key: RepositoryKey, digest: Digest, destination: Destination, backfill_id: str | None = None
) -> ReplicatePayload:
    return ReplicatePayload(
        key.scope.account_id,
        key.scope.region,
        key.name,
        digest,
        destination.kind.value,
        destination.account_id,
        destination.region,
        backfill_id,
        destination.name,
    )


def payload_destination(payload: ReplicatePayload | PropagateDeletePayload) -> Destination:
    """The destination a replication or delete-propagation job names."""
    try:
        kind = DestinationKind(payload.destination_kind)
    except ValueError:
        raise PermanentJobError(f"unknown destination kind {payload.destination_kind!r}") from None
    return Destination(
        kind, payload.destination_account, payload.destination_region, payload.destination_name
    )
