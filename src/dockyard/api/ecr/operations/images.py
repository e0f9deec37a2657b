"""Image operations."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
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


def _detail(key: RepositoryKey, image: ImageSummary) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "imageDigest": str(image.digest),
        "imageSizeInBytes": image.size,
        "imagePushedAt": timestamp(image.pushed_at),
        "imageManifestMediaType": image.media_type,
        "imageStatus": "ACTIVE",
    }
    if image.tags:
        detail["imageTags"] = list(image.tags)
    if image.artifact_media_type:
        detail["artifactMediaType"] = image.artifact_media_type
    if image.last_pulled_at:
        detail["lastRecordedPullTime"] = timestamp(image.last_pulled_at)
    return detail


async def _page(
    ctx: Context, key: RepositoryKey, body: dict[str, Any]
) -> tuple[list[ImageSummary], str | None]:
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"))
    images, cursor = await ctx.registry.images.page(key, _tagged(body), after, limit)
    return images, (encode_token(cursor) if cursor is not None else None)


@operation("ListImages")
async def list_images(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    images, token = await _page(ctx, ctx.key(body), body)
    ids: list[dict[str, str]] = []
    for image in images:
        if image.tags:
            ids += [{"imageDigest": str(image.digest), "imageTag": t} for t in image.tags]
        else:
            ids.append({"imageDigest": str(image.digest)})
    return {"imageIds": ids, "nextToken": token}


@operation("DescribeImages")
async def describe_images(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    if body.get("imageIds"):
        images = await ctx.registry.images.describe(key, _ids(body))
        return {"imageDetails": [_detail(key, i) for i in images]}
    images, token = await _page(ctx, key, body)
    return {"imageDetails": [_detail(key, i) for i in images], "nextToken": token}


@operation("BatchGetImage")
async def batch_get_image(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    found, failures = await ctx.registry.images.get(key, _ids(body), body.get("acceptedMediaTypes"))
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
