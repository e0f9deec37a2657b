"""The CycloneDX SBOM of a scanned image: ``dockyard sbom`` and the HTTP endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.scan.conftest import Scanned
from tests.scan.helpers import Pkg
from tests.support.ecr import login_password
from tests.support.images import Image, push_image
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(120)

PERL_PURL = "pkg:deb/debian/perl-base@5.36.0-7%2Bdeb12u3?arch=amd64&distro=debian-12"


def check_sbom(text: str, scanned: Scanned, packages: list[Pkg]) -> dict[str, Any]:
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    assert errors is None, errors
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.5"
    image = bom["metadata"]["component"]
    assert image["type"] == "container"
    assert image["version"] == scanned.digest
    purls = sorted(c["purl"] for c in bom["components"])
    assert purls == sorted(p.purl for p in packages)
    assert PERL_PURL in purls
    assert "pkg:pypi/requests@2.19.1" in purls
    assert "pkg:pypi/urllib3@1.24.1" not in purls  # deleted by a whiteout
    assert not [p for p in purls if p.startswith("pkg:deb/debian/openssl@")]  # removed
    versions = {c["purl"]: c["version"] for c in bom["components"]}
    assert versions[PERL_PURL] == "5.36.0-7+deb12u3"
    return dict(bom)


def dockyard_sbom(data_dir: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", "sbom", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sbom_cli(
    scanned_real: Scanned, scan_server: DockyardProcess, real_packages: list[Pkg]
) -> None:
    by_tag = dockyard_sbom(scan_server.data_dir, scanned_real.repo, scanned_real.tag)
    assert by_tag.returncode == 0, by_tag.stderr
    check_sbom(by_tag.stdout, scanned_real, real_packages)
    by_digest = dockyard_sbom(scan_server.data_dir, scanned_real.repo, scanned_real.digest)
    assert by_digest.returncode == 0, by_digest.stderr
    assert json.loads(by_digest.stdout)["components"] == json.loads(by_tag.stdout)["components"]


def test_sbom_http(
    scanned_real: Scanned, scan_server: DockyardProcess, ecr: Any, real_packages: list[Pkg]
) -> None:
    url = f"{scan_server.url}/_dockyard/repositories/{scanned_real.repo}/images"
    refused = httpx.get(f"{url}/{scanned_real.tag}/sbom", timeout=30)
    assert refused.status_code == 401
    wrong = httpx.get(f"{url}/{scanned_real.tag}/sbom", auth=("AWS", "not-it"), timeout=30)
    assert wrong.status_code == 401
    auth = ("AWS", login_password(ecr))
    for reference in (scanned_real.tag, scanned_real.digest):
        got = httpx.get(f"{url}/{reference}/sbom", auth=auth, timeout=30)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("application/vnd.cyclonedx+json")
        check_sbom(got.text, scanned_real, real_packages)


def test_sbom_of_an_unscanned_image(
    ecr: Any, v2: httpx.Client, repo: str, scan_server: DockyardProcess, perl_image: Image
) -> None:
    push_image(v2, repo, perl_image, "v1")
    done = dockyard_sbom(scan_server.data_dir, repo, "v1")
    assert done.returncode == 1
    assert "scan" in done.stderr.lower()
    got = httpx.get(
        f"{scan_server.url}/_dockyard/repositories/{repo}/images/v1/sbom",
        auth=("AWS", login_password(ecr)),
        timeout=30,
    )
    assert got.status_code == 404, got.text
