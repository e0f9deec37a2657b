"""Image scanning: configuration, starting scans, findings."""

from __future__ import annotations

from typing import Any

from dockyard.api.ecr.context import Context, decode_token, encode_token, timestamp
from dockyard.api.ecr.operations import operation
from dockyard.domain.errors import NameUnknown
from dockyard.domain.records import ImageId, RepositoryKey
from dockyard.domain.scanning import (
    RegistryScanning,
    ScanFrequency,
    ScanningRule,
    ScanRecord,
    ScanType,
)

FINDINGS_PAGE = 100


def _image_id(body: dict[str, Any]) -> ImageId:
    image = body["imageId"]
    return ImageId(image.get("imageDigest"), image.get("imageTag"))


def scan_status(record: ScanRecord) -> dict[str, str]:
    status = {"status": record.status}
    if record.description:
        status["description"] = record.description
    return status


def findings_summary(record: ScanRecord) -> dict[str, Any]:
    summary: dict[str, Any] = {"findingSeverityCounts": record.counts}
    if record.completed_at:
        summary["imageScanCompletedAt"] = timestamp(record.completed_at)
    if record.source_updated_at:
        summary["vulnerabilitySourceUpdatedAt"] = timestamp(record.source_updated_at)
    return summary


@operation("PutImageScanningConfiguration")
async def put_image_scanning_configuration(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    on_push = bool(body["imageScanningConfiguration"].get("scanOnPush"))
    await ctx.registry.scanning.set_scan_on_push(key, on_push)
    return {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "imageScanningConfiguration": {"scanOnPush": on_push},
    }


def _config_shape(config: RegistryScanning) -> dict[str, Any]:
    return {
        "scanType": config.scan_type.value,
        "rules": [
            {
                "scanFrequency": rule.frequency.value,
                "repositoryFilters": [
                    {"filter": f, "filterType": "WILDCARD"} for f in rule.filters
                ],
            }
            for rule in config.rules
        ],
    }


@operation("PutRegistryScanningConfiguration")
async def put_registry_scanning_configuration(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.scope()
    config = RegistryScanning(
        ScanType(body.get("scanType", "BASIC")),
        tuple(
            ScanningRule(
                ScanFrequency(rule["scanFrequency"]),
                tuple(f["filter"] for f in rule["repositoryFilters"]),
            )
            for rule in body.get("rules") or []
        ),
    )
    await ctx.registry.scanning.put_configuration(scope, config)
    return {"registryScanningConfiguration": _config_shape(config)}


@operation("GetRegistryScanningConfiguration")
async def get_registry_scanning_configuration(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    config = await ctx.registry.scanning.configuration(ctx.scope())
    return {"registryId": ctx.account_id, "scanningConfiguration": _config_shape(config)}


@operation("BatchGetRepositoryScanningConfiguration")
async def batch_get_repository_scanning_configuration(
    ctx: Context, body: dict[str, Any]
) -> dict[str, Any]:
    configurations, failures = [], []
    for name in body["repositoryNames"]:
        key: RepositoryKey = ctx.registry.key(name, ctx.account_id, ctx.region)
        try:
            applied = await ctx.registry.scanning.repository_scanning(key)
        except NameUnknown:
            failures.append(
                {
                    "repositoryName": name,
                    "failureCode": "REPOSITORY_NOT_FOUND",
                    "failureReason": "REPOSITORY_NOT_FOUND",
                }
            )
            continue
        configurations.append(
            {
                "repositoryArn": ctx.arn(key),
                "repositoryName": name,
                # The repository's own flag; the registry's rules speak in scanFrequency.
                "scanOnPush": applied.scan_on_push,
                "scanFrequency": applied.frequency.value,
                "appliedScanFilters": [
                    {"filter": f, "filterType": "WILDCARD"} for f in applied.filters
                ],
            }
        )
    return {"scanningConfigurations": configurations, "failures": failures}


@operation("StartImageScan")
async def start_image_scan(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    image_id = _image_id(body)
    digest, status = await ctx.registry.scanning.start(key, image_id)
    shaped = {"imageDigest": str(digest)}
    if image_id.tag:
        shaped["imageTag"] = image_id.tag
    return {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "imageId": shaped,
        "imageScanStatus": {"status": status, "description": "The scan is in progress."},
    }


@operation("DescribeImageScanFindings")
async def describe_image_scan_findings(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    image_id = _image_id(body)
    digest, record = await ctx.registry.scanning.result(key, image_id)
    config = await ctx.registry.scanning.configuration(key.scope)
    start = decode_token(body.get("nextToken"), int) or 0
    limit = int(body.get("maxResults") or FINDINGS_PAGE)
    page = record.findings[start : start + limit]
    findings: dict[str, Any] = findings_summary(record)
    if config.scan_type is ScanType.ENHANCED:
        findings["enhancedFindings"] = [_enhanced(ctx, key, str(digest), f) for f in page]
    else:
        findings["findings"] = [_basic(f) for f in page]
    shaped = {"imageDigest": str(digest)}
    if image_id.tag:
        shaped["imageTag"] = image_id.tag
    result: dict[str, Any] = {
        "registryId": key.scope.account_id,
        "repositoryName": key.name.value,
        "imageId": shaped,
        "imageScanStatus": scan_status(record),
    }
    if record.status == "COMPLETE":
        result["imageScanFindings"] = findings
    if start + limit < len(record.findings):
        result["nextToken"] = encode_token(start + limit)
    return result


def _uri(finding: dict[str, Any]) -> str:
    return finding.get("uri") or f"https://osv.dev/vulnerability/{finding['aliases'][0]}"


def _basic(finding: dict[str, Any]) -> dict[str, Any]:
    attributes = [
        {"key": "package_version", "value": finding["package_version"]},
        {"key": "package_name", "value": finding["package_name"]},
    ]
    if finding.get("vector"):
        attributes.append({"key": "CVSS3_VECTOR", "value": finding["vector"]})
    if finding.get("score") is not None:
        attributes.append({"key": "CVSS3_SCORE", "value": str(finding["score"])})
    return {
        "name": finding["vulnerability_id"],
        "description": (finding.get("description") or "")[:1000],
        "uri": _uri(finding),
        "severity": finding["severity"],
        "attributes": attributes,
    }


def _enhanced(
    ctx: Context, key: RepositoryKey, digest: str, finding: dict[str, Any]
) -> dict[str, Any]:
    package: dict[str, Any] = {
        "name": finding["package_name"],
        "version": finding["package_version"],
        "packageManager": finding["ecosystem"],
        "filePath": finding["path"],
        "sourceLayerHash": finding.get("layer_digest") or "",
    }
    if finding.get("fixed_in"):
        package["fixedInVersion"] = finding["fixed_in"]
    details: dict[str, Any] = {
        "vulnerabilityId": finding["vulnerability_id"],
        "source": "OSV",
        "sourceUrl": _uri(finding),
        "vendorSeverity": finding["severity"],
        "vulnerablePackages": [package],
        "relatedVulnerabilities": [
            a for a in finding.get("aliases", []) if a != finding["vulnerability_id"]
        ],
    }
    if finding.get("score") is not None and finding.get("vector"):
        details["cvss"] = [
            {
                "baseScore": finding["score"],
                "scoringVector": finding["vector"],
                "source": "OSV",
                "version": "3.1",
            }
        ]
    return {
        "awsAccountId": key.scope.account_id,
        "description": (finding.get("description") or "")[:1000],
        "findingArn": f"arn:aws:inspector2:{key.scope.region}:{key.scope.account_id}:finding/"
        f"{digest.split(':')[-1][:16]}{finding['vulnerability_id']}",
        "packageVulnerabilityDetails": details,
        "resources": [
            {
                "id": f"{ctx.arn(key)}/{digest}",
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "details": {
                    "awsEcrContainerImage": {
                        "registry": key.scope.account_id,
                        "repositoryName": key.name.value,
                        "imageHash": digest,
                    }
                },
            }
        ],
        "severity": finding["severity"],
        "score": finding.get("score") or 0.0,
        "status": "ACTIVE",
        "title": f"{finding['vulnerability_id']} - {finding['package_name']}",
        "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": "YES" if finding.get("fixed_in") else "NO",
    }
