"""External registries (Dockyard's extension; shapes in ``api/ecr/extensions.py``):
replication destinations outside the deployment, over ``services.external``. Answers
never carry a password, only whether one is stored."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.external import ExternalRegistry
from dockyard.services.external import ExternalSpec

DEFAULT_PAGE = 100


def external_shape(registry: ExternalRegistry, registry_id: str) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "name": registry.name,
        "registryId": registry_id,
        "url": registry.url,
        "insecure": registry.insecure,
        "hasPassword": registry.has_password,
        "createdAt": timestamp(registry.created_at),
        "updatedAt": timestamp(registry.updated_at),
    }
    if registry.username is not None:
        shape["username"] = registry.username
    if registry.credential_arn is not None:
        shape["credentialArn"] = registry.credential_arn
    return shape


def _spec(body: dict[str, Any]) -> ExternalSpec:
    return ExternalSpec(
        url=str(body["url"]),
        username=body.get("username"),
        password=body.get("password"),
        credential_arn=body.get("credentialArn"),
        insecure=bool(body.get("insecure", False)),
    )


@operation("CreateExternalRegistry")
async def create_external_registry(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    made = await ctx.registry.external.create(scope, str(body["name"]), _spec(body))
    return {"externalRegistry": external_shape(made, scope.account_id)}


@operation("UpdateExternalRegistry")
async def update_external_registry(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    changed = await ctx.registry.external.update(scope, str(body["name"]), _spec(body))
    return {"externalRegistry": external_shape(changed, scope.account_id)}


@operation("DescribeExternalRegistries")
async def describe_external_registries(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"), str)
    found = await ctx.registry.external.describe(scope, body.get("names"), after, limit + 1)
    answer: dict[str, Any] = {
        "externalRegistries": [external_shape(r, scope.account_id) for r in found[:limit]]
    }
    if len(found) > limit:
        answer["nextToken"] = encode_token(found[limit - 1].name)
    return answer


@operation("DeleteExternalRegistry")
async def delete_external_registry(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    deleted = await ctx.registry.external.delete(scope, str(body["name"]))
    return {"externalRegistry": external_shape(deleted, scope.account_id)}
