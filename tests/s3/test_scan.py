"""A scan on the s3 backend: the layers are read from S3 as streams (no local files), with
the same findings as on the filesystem (tests/scan's oracle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.s3.conftest import StartS3Server
from tests.scan.conftest import ALL_DATA, vulndb_import
from tests.scan.conftest import debs as debs  # the session's real packages (fixtures)
from tests.scan.conftest import perl_image as perl_image
from tests.scan.conftest import perl_layer as perl_layer
from tests.scan.conftest import perl_packages as perl_packages
from tests.scan.helpers import (
    PERL_FIX,
    Pkg,
    all_findings,
    expected_findings,
    finding_triples,
    perl_cves_fixed_in,
    triples,
    wait_scan,
)
from tests.support.ecr import login_client, make_client
from tests.support.images import Image, push_image

pytestmark = [pytest.mark.timeout(180)]


def test_scan_on_push_reads_layers_from_s3(
    s3_server: StartS3Server, perl_image: Image, perl_packages: list[Pkg], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    vulndb_import(data_dir, *ALL_DATA)
    server = s3_server(data_dir=data_dir, open_access=False)
    ecr: Any = make_client(server.url)
    ecr.create_repository(
        repositoryName="scan/perl", imageScanningConfiguration={"scanOnPush": True}
    )
    with login_client(ecr, server.url) as v2:
        push_image(v2, "scan/perl", perl_image, "v1")
    result = wait_scan(ecr, "scan/perl", {"imageTag": "v1"})
    assert result["imageScanStatus"]["status"] == "COMPLETE", result
    findings, _, _ = all_findings(ecr, "scan/perl", {"imageTag": "v1"}, page=50)
    assert finding_triples(findings) == triples(expected_findings(perl_packages))
    assert {name for name, _, _ in finding_triples(findings)} == perl_cves_fixed_in(PERL_FIX)
    # Every layer came from the bucket (``vulndb import`` made the empty filesystem store).
    assert not [p for p in (data_dir / "storage").rglob("*") if p.is_file()]
    layer = perl_image.layers[0].digest
    assert f"blobs/sha256/{layer[7:9]}/{layer[7:]}" in server.objects()
