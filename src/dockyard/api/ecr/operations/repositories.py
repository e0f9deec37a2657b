"""Repository operations."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.errors import InvalidRequest
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.records import Repository, RepositoryConfig, RepositoryKey
from dockyard.services.deletion import RepositoryTarget

DEFAULT_PAGE = 100


def repository_shape(ctx: Context, repository: Repository) -> dict[str, Any]:
    config = repository.config
    shape: dict[str, Any] = {
        "repositoryArn": ctx.arn(repository.key),
        "registryId": repository.key.scope.account_id,
        "repositoryName": repository.key.name.value,
        "repositoryUri": ctx.uri(repository.key),
        "createdAt": timestamp(repository.created_at),
        "imageTagMutability": config.mutability.mutability.value,
        "imageScanningConfiguration": {"scanOnPush": config.scan_on_push},
        "encryptionConfiguration": {"encryptionType": config.encryption_type},
    }
    if config.mutability.filters:
        shape["imageTagMutabilityExclusionFilters"] = _filters_shape(config.mutability)
    if config.kms_key:
        shape["encryptionConfiguration"]["kmsKey"] = config.kms_key
    return shape


def _filters_shape(rule: MutabilityRule) -> list[dict[str, str]]:
    return [{"filterType": "WILDCARD", "filter": f} for f in rule.filters]


def _rule(body: dict[str, Any]) -> MutabilityRule:
    filters = body.get("imageTagMutabilityExclusionFilters") or []
    return MutabilityRule(
        TagMutability(body.get("imageTagMutability", "MUTABLE")),
        tuple(str(f["filter"]) for f in filters),
    )


def _tags(items: list[dict[str, Any]]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        tags[str(item["Key"])] = str(item.get("Value", ""))
    return tags


@operation("CreateRepository")
async def create_repository(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    encryption = body.get("encryptionConfiguration") or {}
    config = RepositoryConfig(
        mutability=_rule(body),
        scan_on_push=bool((body.get("imageScanningConfiguration") or {}).get("scanOnPush")),
        encryption_type=encryption.get("encryptionType", "AES256"),
        kms_key=encryption.get("kmsKey"),
    )
    repository = await ctx.registry.repositories.create(
        ctx.key(body), config, _tags(body.get("tags") or [])
    )
    return {"repository": repository_shape(ctx, repository)}


@operation("DescribeRepositories")
async def describe_repositories(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    registry_id = ctx.registry_id(body)
    names = body.get("repositoryNames")
    if names is not None:
        if body.get("nextToken") or body.get("maxResults"):
            raise InvalidRequest(
                "nextToken and maxResults cannot be used together with repositoryNames"
            )
        found = [
            await ctx.registry.repositories.get(ctx.registry.key(name, registry_id, ctx.region))
            for name in names
        ]
        return {"repositories": [repository_shape(ctx, r) for r in found]}
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"), str)
    scope = ctx.scope(registry_id)
    page = await ctx.registry.repositories.listing(scope, after, limit + 1)
    result: dict[str, Any] = {"repositories": [repository_shape(ctx, r) for r in page[:limit]]}
    if len(page) > limit:
        result["nextToken"] = encode_token(page[limit - 1].key.name.value)
    return result


@operation("DeleteRepository")
async def delete_repository(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    deleted = await ctx.registry.deleter.delete(RepositoryTarget(key, bool(body.get("force"))))
    assert deleted is not None
    return {"repository": repository_shape(ctx, deleted)}


@operation("PutImageTagMutability")
async def put_image_tag_mutability(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    repository = await ctx.registry.repositories.set_mutability(ctx.key(body), _rule(body))
    result: dict[str, Any] = {
        "registryId": repository.key.scope.account_id,
        "repositoryName": repository.key.name.value,
        "imageTagMutability": repository.config.mutability.mutability.value,
    }
    if repository.config.mutability.filters:
        result["imageTagMutabilityExclusionFilters"] = _filters_shape(repository.config.mutability)
    return result


def _key_of_arn(ctx: Context, arn: str) -> RepositoryKey:
    prefix = f"arn:aws:ecr:{ctx.region}:"
    account, _, rest = arn.removeprefix(prefix).partition(":repository/")
    if not arn.startswith(prefix) or not rest:
        raise InvalidRequest(
            f"Invalid parameter at 'resourceArn' failed to satisfy constraint: "
            f"'{arn}' is not a repository ARN of this region"
        )
    return ctx.registry.key(rest, ctx.registry_id({"registryId": account}), ctx.region)


@operation("TagResource")
async def tag_resource(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    await ctx.registry.repositories.tag(_key_of_arn(ctx, body["resourceArn"]), _tags(body["tags"]))
    return {}


@operation("UntagResource")
async def untag_resource(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    keys = [str(k) for k in body["tagKeys"]]
    await ctx.registry.repositories.untag(_key_of_arn(ctx, body["resourceArn"]), keys)
    return {}


@operation("ListTagsForResource")
async def list_tags_for_resource(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    repository = await ctx.registry.repositories.get(_key_of_arn(ctx, body["resourceArn"]))
    return {"tags": [{"Key": k, "Value": v} for k, v in repository.tags.items()]}
