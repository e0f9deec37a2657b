"""The issue's acceptance flow, exactly as a user types it.

Vulnerability data imported; ``aws ecr create-repository``; ``aws ecr
put-image-scanning-configuration --image-scanning-configuration scanOnPush=true``;
``aws ecr get-login-password | skopeo login ...``; ``skopeo copy`` of a Debian 12 image built
from real ``.deb`` files, perl-base 5.36.0-7+deb12u3 among them; ``aws ecr wait
image-scan-complete``; ``aws ecr describe-image-scan-findings`` lists the 13 perl CVEs fixed
in 5.36.0-7+deb12u4 and severity counts that add up.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.scan.helpers import (
    PERL_FIX,
    Pkg,
    all_findings,
    attributes,
    expected_findings,
    finding_triples,
    perl_cves_fixed_in,
    severity_total,
    triples,
)
from tests.support.ecr import AwsCli
from tests.support.images import Image, write_oci_layout
from tests.support.servers import DockyardProcess
from tests.support.tools import require_tool, skopeo

pytestmark = [pytest.mark.clients, pytest.mark.timeout(180)]


def test_perl_cves_in_the_data() -> None:
    """The data itself: 13 Debian records fix perl in 5.36.0-7+deb12u4."""
    assert len(perl_cves_fixed_in(PERL_FIX)) == 13


def test_scan_on_push_with_aws_cli_and_skopeo(
    aws: AwsCli,
    ecr: Any,
    scan_server: DockyardProcess,
    perl_image: Image,
    perl_packages: list[Pkg],
    repo_name: str,
    tmp_path: Path,
) -> None:
    cves = perl_cves_fixed_in(PERL_FIX)
    assert len(cves) == 13
    # The oracle agrees: in this image, those 13 and nothing else.
    expected = expected_findings(perl_packages)
    assert {e.name for e in expected} == cves
    assert {(e.package, e.version, e.fixed) for e in expected} == {
        ("perl-base", "5.36.0-7+deb12u3", PERL_FIX)
    }

    created = aws("create-repository", "--repository-name", repo_name)["repository"]
    assert created["imageScanningConfiguration"] == {"scanOnPush": False}
    configured = aws(
        "put-image-scanning-configuration",
        "--repository-name",
        repo_name,
        "--image-scanning-configuration",
        "scanOnPush=true",
    )
    assert configured["imageScanningConfiguration"] == {"scanOnPush": True}
    assert configured["repositoryName"] == repo_name

    # aws ecr get-login-password | skopeo login --username AWS --password-stdin HOST
    authfile = tmp_path / "auth.json"
    login = (
        f"set -o pipefail; {shlex.quote(require_tool('aws'))} --endpoint-url "
        f"{shlex.quote(scan_server.url)} ecr get-login-password | "
        f"{shlex.quote(require_tool('skopeo'))} login --tls-verify=false "
        f"--authfile {shlex.quote(str(authfile))} --username AWS --password-stdin "
        f"{scan_server.host}"
    )
    done = subprocess.run(
        ["bash", "-c", login],
        env={**os.environ, **aws.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Login Succeeded" in done.stdout

    layout = write_oci_layout(tmp_path / "layout", {"bookworm": perl_image})
    skopeo(
        "copy",
        "--authfile",
        authfile,
        "--dest-tls-verify=false",
        f"oci:{layout}:bookworm",
        f"docker://{scan_server.host}/{repo_name}:bookworm",
    )

    # The waiter polls every 5 s (aws-cli's model); the push returned long before the scan ended.
    waited = aws.raw(
        "wait", "image-scan-complete", "--repository-name", repo_name, "--image-id",
        "imageTag=bookworm",
    )  # fmt: skip
    assert waited.returncode == 0, waited.stderr

    result = aws(
        "describe-image-scan-findings",
        "--repository-name",
        repo_name,
        "--image-id",
        "imageTag=bookworm",
    )
    assert result["imageScanStatus"]["status"] == "COMPLETE"
    assert result["imageId"]["imageDigest"] == perl_image.digest
    scan = result["imageScanFindings"]
    findings = scan["findings"]
    assert sorted(f["name"] for f in findings) == sorted(cves)
    assert finding_triples(findings) == triples(expected)
    for f in findings:
        assert attributes(f)["package_name"] == "perl-base"
        assert attributes(f)["package_version"] == "5.36.0-7+deb12u3"
        assert f["severity"] == "UNDEFINED"  # the Debian data rates nothing
        assert f["uri"].startswith("https://"), f
    counts = scan["findingSeverityCounts"]
    assert severity_total(counts) == len(findings) == 13
    assert counts == {"UNDEFINED": 13}
    assert "imageScanCompletedAt" in scan
    assert "vulnerabilitySourceUpdatedAt" in scan

    # The CLI pages through small pages (maxResults=4, nextToken) and gets the same list.
    paged = aws(
        "describe-image-scan-findings", "--repository-name", repo_name, "--image-id",
        "imageTag=bookworm", "--page-size", "4",
    )  # fmt: skip
    assert finding_triples(paged["imageScanFindings"]["findings"]) == triples(expected)

    # And by hand with boto3: 5 + 5 + 3, each name once.
    every, first, pages = all_findings(ecr, repo_name, {"imageTag": "bookworm"}, page=5)
    assert pages == 3
    assert len({f["name"] for f in every}) == len(every) == 13
    assert severity_total(first["imageScanFindings"]["findingSeverityCounts"]) == len(every)
