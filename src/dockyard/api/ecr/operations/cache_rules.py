"""Pull-through cache rules (ECR's five operations over ``services.cache_rules``).

A rule of the generic kind (any OCI registry by URL, Dockyard's addition) has no
``upstreamRegistry`` value in botocore's enum, so its answers leave the member out.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.cache_rules import CacheRule
from dockyard.services.cache_rules import RuleSpec

DEFAULT_PAGE = 100


def rule_shape(rule: CacheRule, registry_id: str) -> dict[str, Any]:
    """A ``PullThroughCacheRule`` (the members each answer shares with it, and more)."""
    return {
        "ecrRepositoryPrefix": rule.prefix,
        "upstreamRegistryUrl": rule.upstream.url,
        "createdAt": timestamp(rule.created_at),
        "updatedAt": timestamp(rule.updated_at),
        "registryId": registry_id,
        "credentialArn": rule.credential_arn,
        "customRoleArn": rule.custom_role_arn,
        "upstreamRepositoryPrefix": rule.upstream_prefix,
        "upstreamRegistry": rule.upstream.kind.wire,
    }


def _only(shape: dict[str, Any], *members: str) -> dict[str, Any]:
    return {name: shape[name] for name in members}


_COMMON = (
    "ecrRepositoryPrefix",
    "registryId",
    "credentialArn",
    "customRoleArn",
    "upstreamRepositoryPrefix",
)


@operation("CreatePullThroughCacheRule")
async def create_pull_through_cache_rule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    spec = RuleSpec(
        prefix=body["ecrRepositoryPrefix"],
        upstream_url=body["upstreamRegistryUrl"],
        upstream_registry=body.get("upstreamRegistry"),
        upstream_prefix=body.get("upstreamRepositoryPrefix"),
        credential_arn=body.get("credentialArn"),
        custom_role_arn=body.get("customRoleArn"),
    )
    scope = ctx.scope(ctx.registry_id(body))
    rule = await ctx.registry.cache_rules.create(scope, spec)
    shape = rule_shape(rule, scope.account_id)
    return _only(shape, *_COMMON, "upstreamRegistryUrl", "createdAt", "upstreamRegistry")


@operation("DescribePullThroughCacheRules")
async def describe_pull_through_cache_rules(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"), str)
    scope = ctx.scope(ctx.registry_id(body))
    found = await ctx.registry.cache_rules.describe(
        scope, body.get("ecrRepositoryPrefixes"), after, limit + 1
    )
    result: dict[str, Any] = {
        "pullThroughCacheRules": [rule_shape(r, scope.account_id) for r in found[:limit]]
    }
    if len(found) > limit:
        result["nextToken"] = encode_token(found[limit - 1].prefix)
    return result


@operation("UpdatePullThroughCacheRule")
async def update_pull_through_cache_rule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope(ctx.registry_id(body))
    rule = await ctx.registry.cache_rules.update(
        scope, body["ecrRepositoryPrefix"], body.get("credentialArn"), body.get("customRoleArn")
    )
    return _only(rule_shape(rule, scope.account_id), *_COMMON, "updatedAt")


@operation("DeletePullThroughCacheRule")
async def delete_pull_through_cache_rule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope(ctx.registry_id(body))
    rule = await ctx.registry.cache_rules.delete(scope, body["ecrRepositoryPrefix"])
    return _only(rule_shape(rule, scope.account_id), *_COMMON, "upstreamRegistryUrl", "createdAt")


@operation("ValidatePullThroughCacheRule")
async def validate_pull_through_cache_rule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope(ctx.registry_id(body))
    rule, failure = await ctx.registry.cache_rules.validate(scope, body["ecrRepositoryPrefix"])
    shape = _only(rule_shape(rule, scope.account_id), *_COMMON, "upstreamRegistryUrl")
    return {**shape, "isValid": failure is None, "failure": failure}
