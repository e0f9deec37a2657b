"""Repository creation templates (the caller's own registry: these take no registryId)."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.templates import AppliedFor, CreationTemplate, TemplateSettings
from dockyard.services.templates import TemplateChanges

DEFAULT_PAGE = 100


def template_shape(template: CreationTemplate) -> dict[str, Any]:
    settings = template.settings
    encryption: dict[str, Any] = {"encryptionType": settings.encryption_type}
    if settings.kms_key:
        encryption["kmsKey"] = settings.kms_key
    shape: dict[str, Any] = {
        "prefix": template.prefix,
        "appliedFor": [a.value for a in settings.applied_for],
        "imageTagMutability": settings.mutability.mutability.value,
        "encryptionConfiguration": encryption,
        "resourceTags": [{"Key": k, "Value": v} for k, v in settings.resource_tags.items()],
        "createdAt": timestamp(template.created_at),
        "updatedAt": timestamp(template.updated_at),
    }
    if settings.mutability.filters:
        shape["imageTagMutabilityExclusionFilters"] = [
            {"filterType": "WILDCARD", "filter": f} for f in settings.mutability.filters
        ]
    optional = {
        "description": settings.description,
        "repositoryPolicy": settings.repository_policy,
        "lifecyclePolicy": settings.lifecycle_policy,
        "customRoleArn": settings.custom_role_arn,
    }
    shape.update({name: value for name, value in optional.items() if value is not None})
    return shape


def _answer(ctx: Context, template: CreationTemplate) -> dict[str, Any]:
    return {"registryId": ctx.account_id, "repositoryCreationTemplate": template_shape(template)}


def _tags(body: dict[str, Any]) -> dict[str, str] | None:
    items = body.get("resourceTags")
    if items is None:
        return None
    return {str(t["Key"]): str(t.get("Value", "")) for t in items}


def _filters(body: dict[str, Any]) -> tuple[str, ...] | None:
    items = body.get("imageTagMutabilityExclusionFilters")
    return None if items is None else tuple(str(f["filter"]) for f in items)


def _applied_for(body: dict[str, Any]) -> tuple[AppliedFor, ...] | None:
    items = body.get("appliedFor")
    return None if items is None else tuple(AppliedFor(a) for a in items)


def _encryption(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("encryptionConfiguration") or {}


@operation("CreateRepositoryCreationTemplate")
async def create_repository_creation_template(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    encryption = _encryption(body)
    settings = TemplateSettings(
        applied_for=_applied_for(body) or (),
        description=body.get("description"),
        mutability=MutabilityRule(
            TagMutability(body.get("imageTagMutability", "MUTABLE")), _filters(body) or ()
        ),
        encryption_type=encryption.get("encryptionType", "AES256"),
        kms_key=encryption.get("kmsKey"),
        resource_tags=_tags(body) or {},
        repository_policy=body.get("repositoryPolicy"),
        lifecycle_policy=body.get("lifecyclePolicy"),
        custom_role_arn=body.get("customRoleArn"),
    )
    scope = ctx.scope()
    created = await ctx.registry.templates.create(scope, body["prefix"], settings)
    return _answer(ctx, created)


@operation("DescribeRepositoryCreationTemplates")
async def describe_repository_creation_templates(
    ctx: Context, body: dict[str, Any]
) -> dict[str, Any]:
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    after = decode_token(body.get("nextToken"), str)
    scope = ctx.scope()
    found = await ctx.registry.templates.describe(scope, body.get("prefixes"), after, limit + 1)
    result: dict[str, Any] = {
        "registryId": ctx.account_id,
        "repositoryCreationTemplates": [template_shape(t) for t in found[:limit]],
    }
    if len(found) > limit:
        result["nextToken"] = encode_token(found[limit - 1].prefix)
    return result


@operation("UpdateRepositoryCreationTemplate")
async def update_repository_creation_template(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    encryption = body.get("encryptionConfiguration")
    mutability = body.get("imageTagMutability")
    changes = TemplateChanges(
        applied_for=_applied_for(body),
        description=body.get("description"),
        tag_mutability=None if mutability is None else TagMutability(mutability),
        mutability_filters=_filters(body),
        encryption_type=None if encryption is None else encryption["encryptionType"],
        # An encryption configuration without a key means no key.
        kms_key=None if encryption is None else encryption.get("kmsKey", ""),
        resource_tags=_tags(body),
        repository_policy=body.get("repositoryPolicy"),
        lifecycle_policy=body.get("lifecyclePolicy"),
        custom_role_arn=body.get("customRoleArn"),
    )
    scope = ctx.scope()
    updated = await ctx.registry.templates.update(scope, body["prefix"], changes)
    return _answer(ctx, updated)


@operation("DeleteRepositoryCreationTemplate")
async def delete_repository_creation_template(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    deleted = await ctx.registry.templates.delete(scope, body["prefix"])
    return _answer(ctx, deleted)
