"""Scans that cannot succeed: an artifact that is no image, and a decompression bomb."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.scan.conftest import OwnServer
from tests.scan.helpers import (
    PERL_FIX,
    gz_blob,
    image_of,
    os_release_entries,
    perl_cves_fixed_in,
    wait_scan,
)
from tests.support.ecr import login_client, make_client
from tests.support.images import (
    OCI_LAYER_GZIP,
    Blob,
    Image,
    make_manifest,
    push_image,
)
from tests.support.realdata import tar_bytes, write_gzip_bomb
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20


def scan_on_push_repo(ecr: Any, name: str) -> str:
    ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})
    return name


def test_artifact_is_unsupported(ecr: Any, v2: httpx.Client, repo_name: str) -> None:
    """An OCI artifact (a Helm-chart-like config and content) is UNSUPPORTED_IMAGE."""
    repo = scan_on_push_repo(ecr, repo_name)
    config = Blob("application/vnd.cncf.helm.config.v1+json", b'{"name":"chart","version":"1.0"}')
    content = Blob("application/vnd.cncf.helm.chart.content.v1.tar+gzip", b"not a filesystem")
    artifact = Image(config, (content,), make_manifest(config, [content]))
    push_image(v2, repo, artifact, "chart")
    result = wait_scan(ecr, repo, {"imageTag": "chart"})
    status = result["imageScanStatus"]
    assert status["status"] == "UNSUPPORTED_IMAGE", result
    assert status.get("description"), result
    assert "imageScanFindings" not in result or not result["imageScanFindings"].get("findings")
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"


class RssSampler:
    """Peak resident memory of a process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.baseline = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_gzip_bomb_fails_bounded(
    ecr: Any,
    v2: httpx.Client,
    repo_name: str,
    scan_server: DockyardProcess,
    perl_image: Image,
    tmp_path: Path,
) -> None:
    """A 4 MiB layer that inflates to 4 GiB: the scan FAILS with a reason, the server's RSS
    stays within 256 MiB of where it was, and it still serves and scans afterwards."""
    bomb_path = tmp_path / "bomb.tar.gz"
    size = write_gzip_bomb(bomb_path, zero_bytes=4 << 30)
    assert size < 8 * MiB
    bomb = Blob(OCI_LAYER_GZIP, bomb_path.read_bytes())
    image = image_of([gz_blob(tar_bytes(os_release_entries())), bomb])
    repo = scan_on_push_repo(ecr, repo_name)

    with RssSampler(scan_server.pid) as rss:
        push_image(v2, repo, image, "bomb")
        result = wait_scan(ecr, repo, {"imageTag": "bomb"}, timeout=60)
    status = result["imageScanStatus"]
    assert status["status"] == "FAILED", result
    assert status.get("description"), result
    assert status["description"] != "The scan was completed successfully."
    growth = rss.peak - rss.baseline
    assert growth < 256 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB during the bomb scan"
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "FAILED"
    assert "imageScanFindingsSummary" not in detail

    # Still healthy: it answers, and the next scan works.
    assert scan_server.running
    assert httpx.get(f"{scan_server.url}/v2/", timeout=5).status_code == 401
    other = scan_on_push_repo(ecr, f"{repo_name}-after")
    push_image(v2, other, perl_image, "after")
    after = wait_scan(ecr, other, {"imageTag": "after"})
    assert after["imageScanStatus"]["status"] == "COMPLETE"
    names = {f["name"] for f in after["imageScanFindings"]["findings"]}
    assert names == perl_cves_fixed_in(PERL_FIX)


def test_bomb_under_the_ratio_limit_is_stopped_by_the_size_limit_streaming(
    own_server: OwnServer, tmp_path: Path
) -> None:
    """With the ratio check out of the way (``scan_max_compression_ratio`` huge) the bomb is
    read as a stream until ``scan_max_layer_bytes`` (512 MiB here) ends it: FAILED, and the
    server's RSS never holds anything like the 512 MiB it inflated."""
    server = own_server(
        vulndb=False,
        env={
            "DOCKYARD_SCAN_MAX_COMPRESSION_RATIO": "1000000",
            "DOCKYARD_SCAN_MAX_LAYER_BYTES": str(512 * MiB),
        },
    )
    ecr = make_client(server.url)
    bomb_path = tmp_path / "bomb.tar.gz"
    write_gzip_bomb(bomb_path, zero_bytes=2 << 30)
    image = image_of([Blob(OCI_LAYER_GZIP, bomb_path.read_bytes())])
    repo = scan_on_push_repo(ecr, "bombs/size")
    with login_client(ecr, server.url) as v2, RssSampler(server.pid) as rss:
        push_image(v2, repo, image, "bomb")
        result = wait_scan(ecr, repo, {"imageTag": "bomb"}, timeout=60)
    status = result["imageScanStatus"]
    assert status["status"] == "FAILED", result
    assert str(512 * MiB) in status.get("description", ""), result
    growth = rss.peak - rss.baseline
    assert growth < 128 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB during the bomb scan"
    assert httpx.get(f"{server.url}/v2/", timeout=5).status_code == 401
