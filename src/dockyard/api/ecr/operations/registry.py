"""Registry-wide operations: login tokens, the registry itself, account settings."""

from __future__ import annotations

import base64
from typing import Any

from dockyard.api.ecr.context import AccessDenied, Context, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.api.ecr.operations.replication import configuration_shape


@operation("GetAuthorizationToken")
async def get_authorization_token(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    registry_ids = body.get("registryIds") or [ctx.account_id]
    data = []
    for registry_id in registry_ids:
        if registry_id != ctx.account_id:
            # One host serves every registry here: a password is for the caller's own
            # (another account's repositories are /v2/<account>/<name> with it).
            raise AccessDenied(
                ctx.caller.principal.arn,
                ctx.operation,
                f"arn:aws:ecr:{ctx.region}:{registry_id}:repository/*",
            )
        # For this region's registry, as ECR's: /v2 refuses it on another region's host.
        password, expires = ctx.registry.identity.login_password(ctx.caller, ctx.region)
        data.append(
            {
                "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
                "expiresAt": timestamp(expires),
                "proxyEndpoint": ctx.proxy_endpoint(ctx.scope()),
            }
        )
    return {"authorizationData": data}


@operation("DescribeRegistry")
async def describe_registry(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    config = await ctx.registry.replication.configuration(ctx.scope())
    return {"registryId": ctx.account_id, "replicationConfiguration": configuration_shape(config)}


@operation("GetAccountSetting")
async def get_account_setting(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    value = await ctx.registry.account_settings.get(scope, body["name"])
    return {"name": body["name"], "value": value}


@operation("PutAccountSetting")
async def put_account_setting(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    value = await ctx.registry.account_settings.put(scope, body["name"], body["value"])
    if body["name"] == "REGISTRY_POLICY_SCOPE":
        ctx.registry.authz.forget()  # what the registry policy governs changed: now, here
    return {"name": body["name"], "value": value}
