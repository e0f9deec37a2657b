"""Lifecycle policies, previews, storage classes and pull-time update exclusions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.records import ImageId

PREVIEW_PAGE = 100


def _where(ctx: Context, body: dict[str, Any]) -> dict[str, str]:
    key = ctx.key(body)
    return {"registryId": key.scope.account_id, "repositoryName": key.name.value}


@operation("PutLifecyclePolicy")
async def put_lifecycle_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    await ctx.registry.lifecycle.put_policy(ctx.key(body), body["lifecyclePolicyText"])
    return {**_where(ctx, body), "lifecyclePolicyText": body["lifecyclePolicyText"]}


@operation("GetLifecyclePolicy")
async def get_lifecycle_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    policy = await ctx.registry.lifecycle.get_policy(ctx.key(body))
    return _policy_shape(ctx, body, policy.text, policy.last_evaluated_at)


@operation("DeleteLifecyclePolicy")
async def delete_lifecycle_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    policy = await ctx.registry.lifecycle.delete_policy(ctx.key(body))
    return _policy_shape(ctx, body, policy.text, policy.last_evaluated_at)


def _policy_shape(
    ctx: Context, body: dict[str, Any], text: str, evaluated_at: datetime | None
) -> dict[str, Any]:
    # ECR always sends lastEvaluatedAt; a policy that never ran says 0 (the epoch).
    return {
        **_where(ctx, body),
        "lifecyclePolicyText": text,
        "lastEvaluatedAt": timestamp(evaluated_at) if evaluated_at else 0,
    }


@operation("StartLifecyclePolicyPreview")
async def start_lifecycle_policy_preview(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    preview = await ctx.registry.lifecycle.preview(ctx.key(body), body.get("lifecyclePolicyText"))
    return {
        **_where(ctx, body),
        "lifecyclePolicyText": preview.policy_text,
        "status": preview.status,
    }


@operation("GetLifecyclePolicyPreview")
async def get_lifecycle_policy_preview(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    preview = await ctx.registry.lifecycle.get_preview(ctx.key(body))
    results = preview.results
    tag_status = (body.get("filter") or {}).get("tagStatus", "ANY")
    if tag_status == "TAGGED":
        results = [r for r in results if r["imageTags"]]
    elif tag_status == "UNTAGGED":
        results = [r for r in results if not r["imageTags"]]
    if body.get("imageIds"):
        wanted = [ImageId(i.get("imageDigest"), i.get("imageTag")) for i in body["imageIds"]]
        results = [r for r in results if any(_matches(r, w) for w in wanted)]
    start = decode_token(body.get("nextToken"), int) or 0
    limit = int(body.get("maxResults") or PREVIEW_PAGE)
    page = results[start : start + limit]
    transitions = sum(1 for r in preview.results if r["action"]["type"] == "TRANSITION")
    summary: dict[str, Any] = {
        "expiringImageTotalCount": sum(
            1 for r in preview.results if r["action"]["type"] == "EXPIRE"
        )
    }
    if transitions:
        summary["transitioningImageTotalCounts"] = [
            {"targetStorageClass": "ARCHIVE", "imageTotalCount": transitions}
        ]
    result: dict[str, Any] = {
        **_where(ctx, body),
        "lifecyclePolicyText": preview.policy_text,
        "status": preview.status,
        "previewResults": page,
        "summary": summary,
    }
    if start + limit < len(results):
        result["nextToken"] = encode_token(start + limit)
    return result


def _matches(result: dict[str, Any], wanted: ImageId) -> bool:
    if wanted.digest and result["imageDigest"] != wanted.digest:
        return False
    return not wanted.tag or wanted.tag in result["imageTags"]


@operation("UpdateImageStorageClass")
async def update_image_storage_class(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    image = body["imageId"]
    image_id = ImageId(image.get("imageDigest"), image.get("imageTag"))
    status = await ctx.registry.lifecycle.set_storage_class(
        key, image_id, body["targetStorageClass"]
    )
    digest = await ctx.registry.images.resolve(key, image_id)
    shaped = {"imageDigest": str(digest)}
    if image_id.tag:
        shaped["imageTag"] = image_id.tag
    return {**_where(ctx, body), "imageId": shaped, "imageStatus": status}


@operation("RegisterPullTimeUpdateExclusion")
async def register_pull_time_update_exclusion(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    created = await ctx.registry.lifecycle.exclude(scope, body["principalArn"])
    return {"principalArn": body["principalArn"], "createdAt": timestamp(created)}


@operation("DeregisterPullTimeUpdateExclusion")
async def deregister_pull_time_update_exclusion(
    ctx: Context, body: dict[str, Any]
) -> dict[str, Any]:
    scope = ctx.scope()
    await ctx.registry.lifecycle.include(scope, body["principalArn"])
    return {"principalArn": body["principalArn"]}


@operation("ListPullTimeUpdateExclusions")
async def list_pull_time_update_exclusions(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    found = await ctx.registry.lifecycle.exclusions(scope)
    start = decode_token(body.get("nextToken"), int) or 0
    limit = int(body.get("maxResults") or 100)
    result: dict[str, Any] = {
        "pullTimeUpdateExclusions": [arn for arn, _ in found[start : start + limit]]
    }
    if start + limit < len(found):
        result["nextToken"] = encode_token(start + limit)
    return result
