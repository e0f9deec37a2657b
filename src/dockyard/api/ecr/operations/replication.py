"""Replication: ECR's PutReplicationConfiguration and DescribeImageReplicationStatus
(DescribeRegistry, which shows the configuration, is in ``registry``), and Dockyard's
backfill operations (their shapes: ``api/ecr/extensions.py``)."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.errors import ReplicationConfigurationInvalid
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import ImageId, Scope
from dockyard.domain.replication import (
    Backfill,
    Destination,
    ReplicationConfiguration,
    ReplicationRule,
    RepositoryFilter,
    TagFilter,
)

DEFAULT_PAGE = 100


def destination_shape(d: Destination) -> dict[str, Any]:
    """A destination as ECR names it, or an external one by its registered name."""
    if d.is_external:
        return {"externalRegistry": d.name}
    return {"region": d.region, "registryId": d.account_id}


def configuration_shape(config: ReplicationConfiguration) -> dict[str, Any]:
    """A configuration as ECR answers it (repositoryFilters only where a rule has some),
    with Dockyard's members only where a rule uses them."""
    rules = []
    for rule in config.rules:
        shape: dict[str, Any] = {"destinations": [destination_shape(d) for d in rule.destinations]}
        if rule.filters:
            shape["repositoryFilters"] = [_filter_shape(f) for f in rule.filters]
        if rule.tag_filters:
            shape["imageTagFilters"] = [
                {"filter": f.value, "filterType": f.kind} for f in rule.tag_filters
            ]
        if rule.propagate_deletes:
            shape["propagateDeletes"] = True
        rules.append(shape)
    return {"rules": rules}


def _filter_shape(value: RepositoryFilter) -> dict[str, str]:
    return {"filter": value.value, "filterType": value.kind}


def _filters(items: list[dict[str, Any]] | None) -> tuple[RepositoryFilter, ...]:
    return tuple(RepositoryFilter(str(f["filter"]), str(f["filterType"])) for f in items or ())


def _destination(scope: Scope, where: str, given: dict[str, Any]) -> Destination:
    """ECR's {region, registryId}, or Dockyard's {externalRegistry} alone (the model makes
    neither required, so that either can be given)."""
    external = given.get("externalRegistry")
    if external is not None:
        if "region" in given or "registryId" in given:
            raise ReplicationConfigurationInvalid(
                where, "a destination is either externalRegistry, or region and registryId"
            )
        return Destination.external(scope, str(external))
    if "region" not in given or "registryId" not in given:
        raise ReplicationConfigurationInvalid(
            where, "a destination needs region and registryId (or externalRegistry alone)"
        )
    return Destination.registry(str(given["registryId"]), str(given["region"]))


def _configuration(scope: Scope, body: dict[str, Any]) -> ReplicationConfiguration:
    rules = []
    for number, rule in enumerate(body["rules"], start=1):
        where = f"replicationConfiguration.rules.{number}.destinations"
        rules.append(
            ReplicationRule(
                tuple(_destination(scope, where, d) for d in rule["destinations"]),
                _filters(rule.get("repositoryFilters")),
                tuple(
                    TagFilter(str(f["filter"]), str(f["filterType"]))
                    for f in rule.get("imageTagFilters") or ()
                ),
            )
        )
    return ReplicationConfiguration(tuple(rules))


@operation("PutReplicationConfiguration")
async def put_replication_configuration(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    config = _configuration(ctx.scope(), body["replicationConfiguration"])
    stored = await ctx.registry.replication.configure(ctx.scope(), config)
    return {"replicationConfiguration": configuration_shape(stored)}


@operation("DescribeImageReplicationStatus")
async def describe_image_replication_status(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    asked = body["imageId"]
    tag = asked.get("imageTag")
    digest, found = await ctx.registry.replication.statuses(
        key, ImageId(asked.get("imageDigest"), tag)
    )
    image_id = {"imageDigest": str(digest)}
    if tag:
        image_id["imageTag"] = tag
    statuses = []
    for each in found:
        entry = {**destination_shape(each.destination), "status": each.status.value}
        if each.failure_code:
            entry["failureCode"] = each.failure_code
        statuses.append(entry)
    return {
        "repositoryName": key.name.value,
        "imageId": image_id,
        "replicationStatuses": statuses,
    }


# Backfills (Dockyard's extension) ------------------------------------------------


def backfill_shape(backfill: Backfill) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "backfillId": backfill.id,
        "registryId": backfill.scope.account_id,
        "status": backfill.status.value,
        "createdAt": timestamp(backfill.created_at),
        "replicationsQueued": backfill.queued,
        "replicationsCompleted": backfill.completed,
        "replicationsFailed": backfill.failed,
    }
    if backfill.repository is not None:
        shape["repositoryName"] = backfill.repository.value
    if backfill.filters:
        shape["repositoryFilters"] = [_filter_shape(f) for f in backfill.filters]
    if backfill.finished_at is not None:
        shape["finishedAt"] = timestamp(backfill.finished_at)
    return shape


@operation("StartReplicationBackfill")
async def start_replication_backfill(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("repositoryName")
    started = await ctx.registry.backfills.start(
        ctx.scope(),
        None if name is None else RepositoryName.parse(str(name)),
        _filters(body.get("repositoryFilters")),
    )
    return {"backfill": backfill_shape(started)}


@operation("StopReplicationBackfill")
async def stop_replication_backfill(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    stopped = await ctx.registry.backfills.stop(ctx.scope(), str(body["backfillId"]))
    return {"backfill": backfill_shape(stopped)}


@operation("ListReplicationBackfills")
async def list_replication_backfills(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    after = decode_token(body.get("nextToken"), str)
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    found = await ctx.registry.backfills.listing(ctx.scope(), after, limit + 1)
    answer: dict[str, Any] = {"backfills": [backfill_shape(b) for b in found[:limit]]}
    if len(found) > limit:
        answer["nextToken"] = encode_token(found[limit - 1].id)
    return answer


@operation("DescribeReplicationBackfillResults")
async def describe_replication_backfill_results(
    ctx: Context, body: dict[str, Any]
) -> dict[str, Any]:
    offset = decode_token(body.get("nextToken"), int) or 0
    limit = int(body.get("maxResults") or DEFAULT_PAGE)
    backfill, items = await ctx.registry.backfills.results(
        ctx.scope(), str(body["backfillId"]), offset, limit + 1
    )
    results = []
    for item in items[:limit]:
        result = {
            "repositoryName": item.repository.value,
            "imageDigest": item.digest,
            **destination_shape(item.destination),
            "status": item.status.value,
        }
        if item.failure_code:
            result["failureCode"] = item.failure_code
        results.append(result)
    answer: dict[str, Any] = {"backfill": backfill_shape(backfill), "results": results}
    if len(items) > limit:
        answer["nextToken"] = encode_token(offset + limit)
    return answer
