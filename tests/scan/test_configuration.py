"""Registry-wide scanning configuration, ENHANCED findings, CONTINUOUS_SCAN, restarts.

The registry scanning configuration is one per registry, so each test here runs its own
server (``own_server``) and never touches the session's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.scan.conftest import ALL_DATA, OwnServer, vulndb_import
from tests.scan.helpers import (
    PERL_FIX,
    all_findings,
    attributes,
    debian_tar,
    gz_blob,
    image_of,
    os_release_entries,
    perl_cves_fixed_in,
    severity_total,
    wait_scan,
)
from tests.support.ecr import expect_error, login_client, make_client
from tests.support.images import Image, push_image
from tests.support.realdata import tar_bytes

pytestmark = pytest.mark.timeout(120)

DONE = ("COMPLETE", "ACTIVE")  # ECR's enhanced scans may end ACTIVE (still monitored)


def _rule(frequency: str, *filters: str) -> dict[str, Any]:
    return {
        "scanFrequency": frequency,
        "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters],
    }


def test_registry_scan_on_push_rule_with_wildcard(own_server: OwnServer, perl_image: Image) -> None:
    server = own_server()
    ecr = make_client(server.url)
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "BASIC",
        "rules": [],
    }
    put = ecr.put_registry_scanning_configuration(
        scanType="BASIC", rules=[_rule("SCAN_ON_PUSH", "prod-*")]
    )
    assert put["registryScanningConfiguration"] == {
        "scanType": "BASIC",
        "rules": [_rule("SCAN_ON_PUSH", "prod-*")],
    }
    got = ecr.get_registry_scanning_configuration()
    assert got["registryId"] == "000000000000"
    assert got["scanningConfiguration"] == put["registryScanningConfiguration"]

    for name in ("prod-api", "prod-web", "dev-api", "dev-flagged"):
        ecr.create_repository(repositoryName=name)  # no per-repository scanOnPush
    ecr.put_image_scanning_configuration(
        repositoryName="dev-flagged", imageScanningConfiguration={"scanOnPush": True}
    )
    with login_client(ecr, server.url) as v2:
        for name in ("prod-api", "dev-api", "dev-flagged"):
            push_image(v2, name, perl_image, "v1")

    cves = perl_cves_fixed_in(PERL_FIX)
    for name in ("prod-api", "dev-flagged"):
        result = wait_scan(ecr, name, {"imageTag": "v1"})
        assert result["imageScanStatus"]["status"] == "COMPLETE", name
        assert {f["name"] for f in result["imageScanFindings"]["findings"]} == cves
    time.sleep(2.5)  # the job loop has run since both scans were queued
    expect_error(
        "ScanNotFoundException",
        ecr.describe_image_scan_findings,
        repositoryName="dev-api",
        imageId={"imageTag": "v1"},
    )

    configs = ecr.batch_get_repository_scanning_configuration(
        repositoryNames=["prod-api", "prod-web", "dev-api", "dev-flagged", "missing"]
    )
    by_name = {c["repositoryName"]: c for c in configs["scanningConfigurations"]}
    assert set(by_name) == {"prod-api", "prod-web", "dev-api", "dev-flagged"}
    for name in ("prod-api", "prod-web"):
        assert by_name[name]["scanFrequency"] == "SCAN_ON_PUSH"
        # scanOnPush is the repository's own flag, beside the registry rule that applies.
        assert by_name[name]["scanOnPush"] is False
        assert by_name[name]["appliedScanFilters"] == [
            {"filter": "prod-*", "filterType": "WILDCARD"}
        ]
        assert by_name[name]["repositoryArn"] == (
            f"arn:aws:ecr:us-east-1:000000000000:repository/{name}"
        )
    assert by_name["dev-api"]["scanFrequency"] == "MANUAL"
    assert by_name["dev-api"]["scanOnPush"] is False
    assert by_name["dev-api"]["appliedScanFilters"] == []
    assert by_name["dev-flagged"]["scanFrequency"] == "SCAN_ON_PUSH"
    assert by_name["dev-flagged"]["scanOnPush"] is True
    assert by_name["dev-flagged"]["appliedScanFilters"] == []
    assert configs["failures"] == [
        {
            "repositoryName": "missing",
            "failureCode": "REPOSITORY_NOT_FOUND",
            "failureReason": "REPOSITORY_NOT_FOUND",
        }
    ]

    # Rules removed: a new push to prod-* is no longer scanned.
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])
    with login_client(ecr, server.url) as v2:
        push_image(v2, "prod-web", perl_image, "v1")
    time.sleep(2.5)
    expect_error(
        "ScanNotFoundException",
        ecr.describe_image_scan_findings,
        repositoryName="prod-web",
        imageId={"imageTag": "v1"},
    )


def test_repository_flag_beside_the_registry_rule(own_server: OwnServer) -> None:
    """BatchGetRepositoryScanningConfiguration: scanOnPush is the repository's own flag
    (PutImageScanningConfiguration), whatever rule of the registry applies to it."""
    ecr = make_client(own_server(vulndb=False).url)
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[_rule("CONTINUOUS_SCAN", "cont-*"), _rule("SCAN_ON_PUSH", "push-*")],
    )
    flags = {"cont-off": False, "cont-on": True, "push-off": False, "other-on": True}
    for name, flag in flags.items():
        ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": flag})
    ecr.create_repository(repositoryName="other-off")
    ecr.put_image_scanning_configuration(
        repositoryName="other-off", imageScanningConfiguration={"scanOnPush": False}
    )
    got = ecr.batch_get_repository_scanning_configuration(repositoryNames=[*flags, "other-off"])[
        "scanningConfigurations"
    ]
    cont, push = [_rule("CONTINUOUS_SCAN", "cont-*")["repositoryFilters"],
                  _rule("SCAN_ON_PUSH", "push-*")["repositoryFilters"]]  # fmt: skip
    assert [
        (c["repositoryName"], c["scanOnPush"], c["scanFrequency"], c["appliedScanFilters"])
        for c in got
    ] == [
        ("cont-off", False, "CONTINUOUS_SCAN", cont),
        ("cont-on", True, "CONTINUOUS_SCAN", cont),
        ("push-off", False, "SCAN_ON_PUSH", push),
        ("other-on", True, "SCAN_ON_PUSH", []),
        ("other-off", False, "MANUAL", []),
    ]


def test_enhanced_findings(own_server: OwnServer, debs: dict[str, Path]) -> None:
    """ENHANCED: enhancedFindings with the fixed version and the layer holding the dpkg status."""
    server = own_server()
    ecr = make_client(server.url)
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[_rule("SCAN_ON_PUSH", "*")])
    got = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    assert got["scanType"] == "ENHANCED"
    base = gz_blob(tar_bytes(os_release_entries()))
    packages = gz_blob(debian_tar([debs["perl-base"], debs["zlib1g"]], with_os_release=False))
    image = image_of([base, packages])
    ecr.create_repository(repositoryName="enhanced/app")
    with login_client(ecr, server.url) as v2:
        push_image(v2, "enhanced/app", image, "v1")
    result = wait_scan(ecr, "enhanced/app", {"imageTag": "v1"})
    assert result["imageScanStatus"]["status"] in DONE, result
    findings, first, pages = all_findings(
        ecr, "enhanced/app", {"imageTag": "v1"}, page=6, key="enhancedFindings"
    )
    assert pages == 3
    assert "findings" not in first["imageScanFindings"]
    cves = perl_cves_fixed_in(PERL_FIX)
    assert sorted(f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in findings) == sorted(
        cves
    )
    for f in findings:
        details = f["packageVulnerabilityDetails"]
        assert len(details["vulnerablePackages"]) == 1
        package = details["vulnerablePackages"][0]
        assert package["name"] == "perl-base"
        assert package["version"] == "5.36.0-7+deb12u3"
        assert package["fixedInVersion"] == PERL_FIX
        assert package["sourceLayerHash"] == packages.digest != base.digest
        assert f["fixAvailable"] == "YES"
        assert f["type"] == "PACKAGE_VULNERABILITY"
        assert f["status"] == "ACTIVE"
        assert f["awsAccountId"] == "000000000000"
        image_details = f["resources"][0]["details"]["awsEcrContainerImage"]
        assert image_details["imageHash"] == image.digest
        assert image_details["repositoryName"] == "enhanced/app"
        assert f["severity"] == "UNDEFINED"
    counts = first["imageScanFindings"]["findingSeverityCounts"]
    assert severity_total(counts) == len(findings) == 13


def _enhanced_names(result: dict[str, Any]) -> set[str]:
    return {
        f["packageVulnerabilityDetails"]["vulnerabilityId"]
        for f in result["imageScanFindings"].get("enhancedFindings", [])
    }


def test_continuous_scan_rescans_after_vulndb_import(
    own_server: OwnServer, perl_image: Image, tmp_path: Path
) -> None:
    """Pushed before there is any data: nothing found. ``dockyard vulndb import`` then brings
    the data and the continuous repository is rescanned by itself; a scan-on-push one is not.
    (ENHANCED: ECR supports CONTINUOUS_SCAN only with enhanced scanning.)"""
    data_dir = tmp_path / "continuous"
    server = own_server(data_dir=data_dir, vulndb=False)
    ecr = make_client(server.url)
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[_rule("CONTINUOUS_SCAN", "cont-*"), _rule("SCAN_ON_PUSH", "pushed-*")],
    )
    for name in ("cont-app", "pushed-app"):
        ecr.create_repository(repositoryName=name)
    configs = ecr.batch_get_repository_scanning_configuration(
        repositoryNames=["cont-app", "pushed-app"]
    )["scanningConfigurations"]
    assert [
        (c["repositoryName"], c["scanFrequency"], c["appliedScanFilters"]) for c in configs
    ] == [
        ("cont-app", "CONTINUOUS_SCAN", [{"filter": "cont-*", "filterType": "WILDCARD"}]),
        ("pushed-app", "SCAN_ON_PUSH", [{"filter": "pushed-*", "filterType": "WILDCARD"}]),
    ]
    with login_client(ecr, server.url) as v2:
        for name in ("cont-app", "pushed-app"):
            push_image(v2, name, perl_image, "v1")
    before = {}
    for name in ("cont-app", "pushed-app"):
        result = wait_scan(ecr, name, {"imageTag": "v1"})
        assert result["imageScanStatus"]["status"] in DONE, result
        assert _enhanced_names(result) == set()
        assert result["imageScanFindings"]["findingSeverityCounts"] == {}
        before[name] = result["imageScanFindings"]["imageScanCompletedAt"]

    vulndb_import(data_dir, *ALL_DATA)  # the CLI, while the server runs

    cves = perl_cves_fixed_in(PERL_FIX)
    deadline = time.monotonic() + 20
    names: set[str] = set()
    while time.monotonic() < deadline:
        result = ecr.describe_image_scan_findings(
            repositoryName="cont-app", imageId={"imageTag": "v1"}
        )
        if result["imageScanStatus"]["status"] in DONE:
            names = _enhanced_names(result)
            if names:
                break
        time.sleep(0.25)
    assert names == cves, f"cont-app not rescanned within 20 s: {result}"
    scan = result["imageScanFindings"]
    assert scan["imageScanCompletedAt"] > before["cont-app"]
    assert "vulnerabilitySourceUpdatedAt" in scan
    assert severity_total(scan["findingSeverityCounts"]) == 13

    # The scan-on-push repository was not rescanned: still the first, empty result.
    pushed = ecr.describe_image_scan_findings(
        repositoryName="pushed-app", imageId={"imageTag": "v1"}
    )
    assert _enhanced_names(pushed) == set()
    assert pushed["imageScanFindings"]["imageScanCompletedAt"] == before["pushed-app"]

    # Importing the same data again changes nothing, so nothing is rescanned. (The first import
    # of two zips may have queued one rescan per zip: let those finish first.)
    time.sleep(3)
    settled = ecr.describe_image_scan_findings(
        repositoryName="cont-app", imageId={"imageTag": "v1"}
    )
    assert settled["imageScanStatus"]["status"] in DONE
    assert _enhanced_names(settled) == cves
    assert "0 added, 0 updated" in " ".join(vulndb_import(data_dir, *ALL_DATA).split())
    time.sleep(3)
    again = ecr.describe_image_scan_findings(repositoryName="cont-app", imageId={"imageTag": "v1"})
    assert (
        again["imageScanFindings"]["imageScanCompletedAt"]
        == settled["imageScanFindings"]["imageScanCompletedAt"]
    )


def test_results_survive_a_restart(
    own_server: OwnServer, real_image: Image, tmp_path: Path
) -> None:
    data_dir = tmp_path / "restart"
    first = own_server(data_dir=data_dir)
    ecr = make_client(first.url)
    ecr.create_repository(repositoryName="kept", imageScanningConfiguration={"scanOnPush": True})
    with login_client(ecr, first.url) as v2:
        push_image(v2, "kept", real_image, "v1")
    wait_scan(ecr, "kept", {"imageTag": "v1"})
    findings, result, _ = all_findings(ecr, "kept", {"imageTag": "v1"}, page=100)
    assert len(findings) == 55
    summary = ecr.describe_images(repositoryName="kept")["imageDetails"][0]
    assert first.stop() == 0  # SIGTERM

    second = own_server(data_dir=data_dir, vulndb=False)
    ecr = make_client(second.url)
    findings_after, result_after, _ = all_findings(ecr, "kept", {"imageTag": "v1"}, page=100)
    assert findings_after == findings
    assert result_after["imageScanStatus"] == result["imageScanStatus"]
    for key in ("findingSeverityCounts", "imageScanCompletedAt", "vulnerabilitySourceUpdatedAt"):
        assert result_after["imageScanFindings"][key] == result["imageScanFindings"][key]
    summary_after = ecr.describe_images(repositoryName="kept")["imageDetails"][0]
    assert summary_after["imageScanStatus"] == summary["imageScanStatus"]
    assert summary_after["imageScanFindingsSummary"] == summary["imageScanFindingsSummary"]
    # The one-scan-per-day limit is remembered as well.
    with pytest.raises(ClientError) as refused:
        ecr.start_image_scan(repositoryName="kept", imageId={"imageTag": "v1"})
    assert refused.value.response["Error"]["Code"] == "LimitExceededException"
    assert {attributes(f)["package_name"] for f in findings_after} >= {"perl-base", "requests"}
