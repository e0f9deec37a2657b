"""Image operations."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, tag_cursor, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.api.ecr.operations.scanning import findings_summary, scan_status
from dockyard.domain.errors import InvalidRequest
from dockyard.domain.records import ImageFailure, ImageId, ImageSummary, RepositoryKey

DEFAULT_PAGE = 100


def _ids(body: dict[str, Any]) -> list[ImageId]:
    return [ImageId(i.get("imageDigest"), i.get("imageTag")) for i in body.get("imageIds") or []]


def _id_shape(image_id: ImageId) -> dict[str, str]:
    shape = {}
    if image_id.digest:
        shape["imageDigest"] = image_id.digest
    if image_id.tag:
        shape["imageTag"] = image_id.tag
    return shape


def _failure_shape(failure: ImageFailure) -> dict[str, Any]:
    return {
        "imageId": _id_shape(failure.image_id),
        "failureCode": failure.code,
        "failureReason": failure.reason,
    }


def _tagged(body: dict[str, Any]) -> bool | None:
    status = (body.get("filter") or {}).get("tagStatus", "ANY")
    return {"TAGGED": True, "UNTAGGED": False}.get(status)


def _status(body: dict[str, Any]) -> str | None:
    """The imageStatus filter: ACTIVE unless asked otherwise; ANY means no filter."""
    status = (body.get("filter") or {}).get("imageStatus", "ACTIVE")
    return None if status == "ANY" else str(status)


def _detail(key: RepositoryKey, image: ImageSummary) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "imageDigest": str(image.digest),
        "imageSizeInBytes": image.size,
        "imagePushedAt": timestamp(image.pushed_at),
        "imageManifestMediaType": image.media_type,
        "imageStatus": image.status,
    }
    if image.archived_at:
        detail["lastArchivedAt"] = timestamp(image.archived_at)
    if image.activated_at:
        detail["lastActivatedAt"] = timestamp(image.activated_at)
    if image.tags:
        detail["imageTags"] = list(image.tags)
    if image.artifact_media_type:
        detail["artifactMediaType"] = image.artifact_media_type
    if image.last_pulled_at:
        detail["lastRecordedPullTime"] = timestamp(image.last_pulled_at)
    if image.subject:
        detail["subjectManifestDigest"] = str(image.subject)
    return detail


@operation("ListImages")
async def list_images(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    cursor = decode_token(body.get("nextToken"), tag_cursor)
    ids, following = await ctx.registry.images.ids_page(
        key, _tagged(body), cursor, limit, _status(body)
    )
    token = encode_token(list(following)) if following is not None else None
    return {"imageIds": [_id_shape(i) for i in ids], "nextToken": token}


async def _details(
    ctx: Context, key: RepositoryKey, images: list[ImageSummary]
) -> list[dict[str, Any]]:
    scans = await ctx.registry.scanning.summaries(key, [str(i.digest) for i in images])
    details = []
    for image in images:
        detail = _detail(key, image)
        scan = scans.get(str(image.digest))
        if scan is not None:
            detail["imageScanStatus"] = scan_status(scan)
            if scan.status == "COMPLETE":
                detail["imageScanFindingsSummary"] = findings_summary(scan)
        details.append(detail)
    return details


@operation("DescribeImages")
async def describe_images(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    if body.get("imageIds"):
        if body.get("nextToken") or body.get("maxResults"):
            raise InvalidRequest("maxResults and nextToken cannot be used with imageIds")
        images = await ctx.registry.images.describe(key, _ids(body))
        return {"imageDetails": await _details(ctx, key, images)}
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"), int)
    images, cursor = await ctx.registry.images.page(key, _tagged(body), after, limit, _status(body))
    token = encode_token(cursor) if cursor is not None else None
    return {"imageDetails": await _details(ctx, key, images), "nextToken": token}


@operation("BatchGetImage")
async def batch_get_image(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    found, failures = await ctx.registry.images.get(
        key, _ids(body), body.get("acceptedMediaTypes"), ctx.caller.principal.arn
    )
    images = [
        {
            "registryId": key.scope.account_id,
            "repositoryName": key.name.value,
            "imageId": _id_shape(image.image_id),
            "imageManifest": (image.manifest.payload or b"").decode(),
            "imageManifestMediaType": image.manifest.media_type,
        }
        for image in found
    ]
    return {"images": images, "failures": [_failure_shape(f) for f in failures]}


@operation("BatchDeleteImage")
async def batch_delete_image(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    deleted, failures = await ctx.registry.images.delete(ctx.key(body), _ids(body))
    return {
        "imageIds": [_id_shape(i) for i in deleted],
        "failures": [_failure_shape(f) for f in failures],
    }


@operation("PutImage")
async def put_image(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    tag = body.get("imageTag")
    manifest = await ctx.registry.images.put(
        key,
        str(body["imageManifest"]).encode(),
        body.get("imageManifestMediaType"),
        tag,
        body.get("imageDigest"),
    )
    image_id = {"imageDigest": str(manifest.digest)}
    if tag:
        image_id["imageTag"] = tag
    return {
        "image": {
            "registryId": key.scope.account_id,
            "repositoryName": key.name.value,
            "imageId": image_id,
            "imageManifest": (manifest.payload or b"").decode(),
            "imageManifestMediaType": manifest.media_type,
        }
    }
