"""Repository and registry policies (resource-based policies of ECR)."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context
from dockyard.api.ecr.operations import operation


def _repository_answer(ctx: Context, body: dict[str, Any], text: str) -> dict[str, Any]:
    key = ctx.key(body)
    return {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "policyText": text,
    }


@operation("SetRepositoryPolicy")
async def set_repository_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    stored = await ctx.registry.policies.set_repository_policy(
        ctx.key(body),
        body["policyText"],
        force=bool(body.get("force")),
        setter=ctx.caller.principal,
    )
    return _repository_answer(ctx, body, stored.text)


@operation("GetRepositoryPolicy")
async def get_repository_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    found = await ctx.registry.policies.repository_policy(ctx.key(body))
    return _repository_answer(ctx, body, found.text)


@operation("DeleteRepositoryPolicy")
async def delete_repository_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    deleted = await ctx.registry.policies.delete_repository_policy(ctx.key(body))
    return _repository_answer(ctx, body, deleted.text)


# The registry policy is the caller's own registry's: these operations take no registryId.


@operation("PutRegistryPolicy")
async def put_registry_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    stored = await ctx.registry.policies.put_registry_policy(scope, body["policyText"])
    return {"registryId": ctx.account_id, "policyText": stored.text}


@operation("GetRegistryPolicy")
async def get_registry_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    found = await ctx.registry.policies.registry_policy(ctx.scope())
    return {"registryId": ctx.account_id, "policyText": found.text}


@operation("DeleteRegistryPolicy")
async def delete_registry_policy(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    deleted = await ctx.registry.policies.delete_registry_policy(scope)
    return {"registryId": ctx.account_id, "policyText": deleted.text}
