"""Images as ECR's API sees them: list, describe, get, delete and put by image id."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    ContentReferenced,
    DigestInvalid,
    ImageAlreadyExists,
    ImageNotFound,
    InvalidRequest,
    ManifestUnknown,
    ReferenceInvalid,
    TagImmutable,
)
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.names import ECR_TAG_MAX, Tag
from dockyard.domain.records import (
    ImageFailure,
    ImageId,
    ImageSummary,
    RepositoryKey,
    StoredManifest,
)
from dockyard.metadata import ImageStore
from dockyard.services.deletion import Deleter, ManifestTarget, TagTarget
from dockyard.services.manifests import Manifests
from dockyard.services.pulls import Pulls
from dockyard.services.threads import blocking


@dataclass(frozen=True, slots=True)
class FoundImage:
    image_id: ImageId  # the digest filled in, the tag as asked
    manifest: StoredManifest


class _Failed(Exception):
    def __init__(self, code: str, reason: str) -> None:
        self.code, self.reason = code, reason


def _not_found(key: RepositoryKey, image_id: ImageId) -> ImageNotFound:
    return ImageNotFound(image_id.digest, image_id.tag, key.name.value, key.scope.account_id)


def _declares_media_type(payload: bytes) -> bool:
    """Whether a manifest (already parsed once, so known to be a bounded JSON object) has a
    top-level mediaType."""
    return json.loads(payload).get("mediaType") is not None


# ECR's answer to a manifest whose media type it cannot tell (nothing in the manifest, nothing
# in the request); clients that retry with another format look for this text.
UNDECLARED_MEDIA_TYPE = (
    "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
)


class Images:
    def __init__(
        self, images: ImageStore, manifests: Manifests, deleter: Deleter, pulls: Pulls
    ) -> None:
        self._images = images
        self._manifests = manifests
        self._deleter = deleter
        self._pulls = pulls

    async def page(
        self,
        key: RepositoryKey,
        tagged: bool | None,
        after: int | None,
        limit: int,
        status: str | None = "ACTIVE",
    ) -> tuple[list[ImageSummary], int | None]:
        """A page of images in push order, and the cursor of the next page (None at the end)."""
        await self._pulls.flush()
        rows, more = await blocking(self._images.summaries, key, tagged, after, limit, None, status)
        return [summary for _, summary in rows], (rows[-1][0] if more and rows else None)

    async def ids_page(
        self,
        key: RepositoryKey,
        tagged: bool | None,
        after: tuple[int, str] | None,
        limit: int,
        status: str | None = "ACTIVE",
    ) -> tuple[list[ImageId], tuple[int, str] | None]:
        """A page of image ids (one per tag), and the cursor of the next page."""
        rows, more = await blocking(self._images.list_ids, key, tagged, after, limit, status)
        ids = [ImageId(str(digest), tag) for _, digest, tag in rows]
        cursor = (rows[-1][0], rows[-1][2] or "") if more and rows else None
        return ids, cursor

    async def describe(self, key: RepositoryKey, ids: list[ImageId]) -> list[ImageSummary]:
        await self._pulls.flush()
        found: dict[Digest, ImageSummary] = {}
        for image_id in ids:
            try:
                digest = await self._resolve(key, image_id)
            except _Failed:
                raise _not_found(key, image_id) from None
            if digest not in found:
                found[digest] = await self.summary(key, digest)
        return list(found.values())

    async def summary(self, key: RepositoryKey, digest: Digest) -> ImageSummary:
        """One image, whatever its storage class."""
        rows, _ = await blocking(self._images.summaries, key, None, None, 1, [digest], None)
        if not rows:
            raise _not_found(key, ImageId(str(digest)))
        return rows[0][1]

    async def get(
        self,
        key: RepositoryKey,
        ids: list[ImageId],
        accepted: list[str] | None,
        principal_arn: str | None = None,
    ) -> tuple[list[FoundImage], list[ImageFailure]]:
        images: list[FoundImage] = []
        failures: list[ImageFailure] = []
        for image_id in ids:
            try:
                digest = await self._resolve(key, image_id)
                manifest = await self._manifests.get(key, digest)
            except _Failed as failed:
                failures.append(ImageFailure(image_id, failed.code, failed.reason))
                continue
            except ManifestUnknown:  # archived: listed, but not pullable
                failures.append(
                    ImageFailure(image_id, "ImageNotFound", "Requested image is archived")
                )
                continue
            if accepted and manifest.media_type not in accepted:
                failures.append(
                    ImageFailure(
                        image_id,
                        "ImageNotFound",
                        f"Requested image's media type {manifest.media_type} is not accepted",
                    )
                )
                continue
            images.append(FoundImage(ImageId(str(digest), image_id.tag), manifest))
            self._pulls.note(key, digest, principal_arn)
        return images, failures

    async def delete(
        self, key: RepositoryKey, ids: list[ImageId]
    ) -> tuple[list[ImageId], list[ImageFailure]]:
        """BatchDeleteImage: by tag, that tag (and the image with its last tag); by digest
        (or digest and tag), the image, reported as one id per tag it had."""
        deleted: list[ImageId] = []
        failures: list[ImageFailure] = []
        for image_id in ids:
            try:
                digest = await self._resolve(key, image_id)
                if image_id.tag and not image_id.digest:
                    await self._deleter.delete(TagTarget(key, Tag(image_id.tag)))
                    # ECR deletes an image with its last tag.
                    rows, _ = await blocking(self._images.summaries, key, None, None, 1, [digest])
                    if rows and not rows[0][1].tags:
                        # Still part of an index? Then it stays, untagged.
                        with contextlib.suppress(ContentReferenced):
                            await self._deleter.delete(ManifestTarget(key, digest))
                    removed = [ImageId(str(digest), image_id.tag)]
                else:
                    image = await self.summary(key, digest)
                    await self._deleter.delete(ManifestTarget(key, digest))
                    # A tag added between the two steps goes with the image unreported;
                    # the image itself is gone either way.
                    removed = [ImageId(str(digest), t) for t in image.tags] or [
                        ImageId(str(digest))
                    ]
            except _Failed as failed:
                failures.append(ImageFailure(image_id, failed.code, failed.reason))
                continue
            except ContentReferenced:
                failures.append(
                    ImageFailure(
                        image_id,
                        "ImageReferencedByManifestList",
                        "Requested image is referenced by an image index",
                    )
                )
                continue
            except (ManifestUnknown, ImageNotFound):  # deleted meanwhile
                failures.append(
                    ImageFailure(image_id, "ImageNotFound", "Requested image not found")
                )
                continue
            deleted += removed
        return deleted, failures

    async def put(
        self,
        key: RepositoryKey,
        payload: bytes,
        media_type: str | None,
        tag: str | None,
        digest: str | None,
    ) -> StoredManifest:
        reference: Tag | Digest
        if not media_type:  # absent, or sent empty
            # ECR's PutImage cannot tell an OCI manifest without mediaType from other formats
            # and refuses it; /v2 has the Content-Type header and never comes through here.
            parse_manifest(payload, None)  # invalid JSON and other faults, as everywhere
            if not _declares_media_type(payload):
                raise InvalidRequest(UNDECLARED_MEDIA_TYPE)
        if digest is not None:
            expected = Digest.parse(digest)
            actual = Digest.of(payload, expected.algorithm)
            if actual != expected:
                raise DigestInvalid(digest, f"manifest has digest {actual}")
        reference = (
            Tag.parse(tag, ECR_TAG_MAX)
            if tag
            else Digest.parse(digest)
            if digest
            else Digest.of(payload)
        )
        try:
            outcome = await self._manifests.put(key, reference, payload, media_type)
        except TagImmutable:
            # Unchanged is ECR's first answer, even on an immutable tag.
            if tag and await blocking(self._images.digest_of_tag, key, tag) == Digest.of(payload):
                raise ImageAlreadyExists(
                    str(Digest.of(payload)), tag, key.name.value, key.scope.account_id
                ) from None
            raise
        if not (outcome.new_manifest or outcome.tag_moved or outcome.restored):
            raise ImageAlreadyExists(str(outcome.digest), tag, key.name.value, key.scope.account_id)
        return await self._manifests.get(key, outcome.digest)

    async def resolve(self, key: RepositoryKey, image_id: ImageId) -> Digest:
        """The digest of one image id, or ImageNotFound."""
        try:
            return await self._resolve(key, image_id)
        except _Failed:
            raise _not_found(key, image_id) from None

    async def _resolve(self, key: RepositoryKey, image_id: ImageId) -> Digest:
        """The digest an image id names, or _Failed with ECR's failure code."""
        if not image_id.digest and not image_id.tag:
            raise _Failed(
                "MissingDigestAndTag",
                "Invalid request parameters: both tag and digest cannot be null",
            )
        digest: Digest | None = None
        if image_id.digest:
            try:
                digest = Digest.parse(image_id.digest)
            except DigestInvalid:
                raise _Failed("InvalidImageDigest", "Invalid image digest") from None
        if image_id.tag:
            try:
                Tag.parse(image_id.tag, ECR_TAG_MAX)
            except ReferenceInvalid:
                raise _Failed("InvalidImageTag", "Invalid image tag") from None
            tagged = await blocking(self._images.digest_of_tag, key, image_id.tag)
            if tagged is None:
                raise _Failed("ImageNotFound", "Requested image not found")
            if digest is not None and tagged != digest:
                raise _Failed(
                    "ImageTagDoesNotMatchDigest",
                    "Invalid request parameters: image tag does not match digest",
                )
            return tagged
        assert digest is not None
        rows, _ = await blocking(self._images.summaries, key, None, None, 1, [digest], None)
        if not rows:
            raise _Failed("ImageNotFound", "Requested image not found")
        return digest
