"""``dockyard migrate-storage``: an installation's blobs moved from its data directory to S3,
its database kept; the server on S3 then serves the same digests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.s3.conftest import S3_ENV, StartS3Server
from tests.support.images import make_image, push_image, sha256_digest
from tests.support.seaweed import BUCKET, SeaweedFS
from tests.support.servers import DockyardProcess

pytestmark = [pytest.mark.timeout(300)]


def migrate(
    data_dir: Path, seaweed: SeaweedFS, prefix: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "dockyard", "migrate-storage"),
            *("--from", "filesystem", "--to", "s3"),
            *("--data-dir", str(data_dir)),
            *("--s3-bucket", BUCKET, "--s3-prefix", prefix),
            *("--s3-endpoint-url", seaweed.endpoint),
            *extra,
        ],
        env={**os.environ, **S3_ENV},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_blobs_move_from_the_data_dir_to_s3(
    s3_server: StartS3Server, seaweed: SeaweedFS, tmp_path: Path
) -> None:
    data_dir = tmp_path / "installation"
    images = {
        f"team/app{n}": make_image(f"migrate-{n}", layers=3, max_file_size=300_000)
        for n in range(3)
    }
    before = DockyardProcess(data_dir, log_dir=tmp_path / "logs")
    with before.serving(), httpx.Client(base_url=before.url, timeout=60) as client:
        manifests = {repo: push_image(client, repo, image, "v1") for repo, image in images.items()}
    blobs = {blob.digest: blob.data for image in images.values() for blob in image.blobs}
    assert len(list((data_dir / "storage" / "blobs").glob("sha256/*/*"))) == len(blobs)

    prefix = seaweed.fresh_prefix()
    done = migrate(data_dir, seaweed, prefix)
    assert done.returncode == 0, done.stderr
    assert f"copied {len(blobs)} blobs" in done.stdout
    held = [k for k in seaweed.keys(prefix) if k.startswith("blobs/")]
    assert len(held) == len(blobs)
    assert not any(k.startswith("uploads/") for k in seaweed.keys(prefix))

    # Again: nothing to copy.
    again = migrate(data_dir, seaweed, prefix)
    assert again.returncode == 0, again.stderr
    assert "copied 0 blobs" in again.stdout and f"skipped {len(blobs)}" in again.stdout

    # The same database on S3: the same tags, manifests and blobs. The filesystem copy is
    # moved away, so nothing can be served from it.
    (data_dir / "storage").rename(tmp_path / "old-storage")
    after = s3_server(data_dir=data_dir, prefix=prefix)
    with httpx.Client(base_url=after.url, timeout=60, follow_redirects=True) as client:
        for repo, digest in manifests.items():
            got = client.get(
                f"/v2/{repo}/manifests/v1",
                headers={"accept": images[repo].manifest.media_type},
            )
            assert got.status_code == 200 and got.headers["docker-content-digest"] == digest
            for blob in images[repo].blobs:
                pulled = client.get(f"/v2/{repo}/blobs/{blob.digest}")
                assert pulled.status_code == 200, pulled.text
                assert sha256_digest(pulled.content) == blob.digest


def test_a_damaged_blob_is_reported_not_copied(seaweed: SeaweedFS, tmp_path: Path) -> None:
    data_dir = tmp_path / "installation"
    image = make_image("migrate-damaged", layers=2)
    server = DockyardProcess(data_dir, log_dir=tmp_path / "logs")
    with server.serving(), httpx.Client(base_url=server.url, timeout=60) as client:
        push_image(client, "team/damaged", image, "v1")
    damaged = image.layers[0].digest
    path = data_dir / "storage" / "blobs" / "sha256" / damaged[7:9] / damaged[7:]
    path.write_bytes(b"bit rot")
    prefix = seaweed.fresh_prefix()
    done = migrate(data_dir, seaweed, prefix)
    assert done.returncode == 1
    assert damaged in done.stderr and "failed 1" in done.stdout
    held = seaweed.keys(prefix)
    assert f"blobs/sha256/{damaged[7:9]}/{damaged[7:]}" not in held
    assert len(held) == len(image.blobs) - 1


def test_bad_arguments(tmp_path: Path) -> None:
    same = subprocess.run(
        [sys.executable, "-m", "dockyard", "migrate-storage", "--from", "s3", "--to", "s3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert same.returncode == 2 and "same backend" in same.stderr
    memory = subprocess.run(
        [sys.executable, "-m", "dockyard", "migrate-storage", "--from", "memory", "--to", "s3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert memory.returncode == 2 and "persistent" in memory.stderr
    no_bucket = subprocess.run(
        [
            *(sys.executable, "-m", "dockyard", "migrate-storage"),
            *("--from", "filesystem", "--to", "s3", "--data-dir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")},
    )
    assert no_bucket.returncode == 2 and "s3_bucket" in no_bucket.stderr
