"""Several nodes over one PostgreSQL and one S3 endpoint behave as one registry.

Each node is a full Dockyard server (two workers each) with a data directory of
its own; what they share is the metadata database (a real PostgreSQL cluster),
the blob store (SeaweedFS's S3 gateway) and the keys. A push through one node is
pulled through the other; a node killed in the middle of a chunked upload or of
a running job loses nothing: the upload is finished through the other node and
the job is taken over once its lease runs out.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy

from tests.support.auth import ROOT_KEY, aws_cli_env, basic, login_password
from tests.support.authz import ecr_as, skopeo_pull, skopeo_push
from tests.support.images import make_image, sha256_digest
from tests.support.postgres import PostgresCluster
from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedFS
from tests.support.servers import DockyardProcess
from tests.support.tools import run

pytestmark = pytest.mark.timeout(600)

LEASE_SECONDS = 4


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@dataclass
class Cluster:
    """Two nodes' settings over one database and one bucket prefix."""

    tmp: Path
    database_url: str
    seaweed: SeaweedFS
    prefix: str
    env: dict[str, str]

    def node(self, name: str, *extra: str) -> DockyardProcess:
        return DockyardProcess(
            self.tmp / name,
            extra_args=[
                "--workers", "2",
                "--database-url", self.database_url,
                "--storage-backend", "s3",
                "--s3-bucket", BUCKET,
                "--s3-prefix", self.prefix,
                "--s3-endpoint-url", self.seaweed.endpoint,
                *extra,
            ],
            env={**self.env, "DOCKYARD_WORKERS": "2"},
            log_dir=self.tmp / f"{name}-log",
            open_access=False,
        )  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path, postgres: PostgresCluster, seaweed: SeaweedFS) -> Cluster:
    env = {
        # Every node must share these: a token or sealed secret made by one is read by all.
        "DOCKYARD_SECRETS_KEY": _fernet_key(),
        "DOCKYARD_TOKENS_KEY": _fernet_key(),
        "DOCKYARD_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "DOCKYARD_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "DOCKYARD_JOB_LEASE": f"{LEASE_SECONDS}s",
        "DOCKYARD_GC_INTERVAL": "0",
        "DOCKYARD_LIFECYCLE_INTERVAL": "0",
    }
    return Cluster(tmp_path, postgres.create_database(), seaweed, seaweed.fresh_prefix(), env)


@pytest.fixture
def two_nodes(cluster: Cluster) -> Iterator[tuple[DockyardProcess, DockyardProcess]]:
    a, b = cluster.node("a"), cluster.node("b")
    a.start_ready(timeout=90)
    b.start_ready(timeout=90)
    yield a, b
    for node in (a, b):
        if node.running:
            node.stop_cleanly()


def _wait_for(probe: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


def test_push_through_one_node_pull_through_the_other(
    two_nodes: tuple[DockyardProcess, DockyardProcess], tmp_path: Path
) -> None:
    a, b = two_nodes
    ecr_as(a.url, ROOT_KEY).create_repository(repositoryName="team/app")
    image = make_image("across-nodes", layers=3, max_file_size=64 * 1024)
    password = login_password(a.url)  # issued by A, honoured by B (shared tokens key)
    pushed = skopeo_push(a.host, password, image, "team/app", "v1", tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    pulled = skopeo_pull(b.host, password, "team/app", "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    index = json.loads((tmp_path / "pulled-team_app-v1" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == image.digest
    for blob in image.blobs:
        stored = tmp_path / "pulled-team_app-v1" / "blobs" / "sha256" / blob.digest[7:]
        assert sha256_digest(stored.read_bytes()) == blob.digest

    # `aws ecr describe-images` through B lists what A received.
    described = run(
        [
            "aws", "ecr", "describe-images", "--repository-name", "team/app",
            "--endpoint-url", b.url, "--region", "us-east-1", "--output", "json",
        ],
        env={**os.environ, **aws_cli_env()},
    )  # fmt: skip
    details = json.loads(described.stdout)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(image.digest, ["v1"])]

    # B's blob GET answers from S3: a redirect to a presigned URL that serves the bytes.
    layer = image.layers[0]
    with httpx.Client(headers=basic(password), timeout=60) as client:
        answer = client.get(f"{b.url}/v2/team/app/blobs/{layer.digest}")
        assert answer.status_code == 307, answer.text
        assert client.get(answer.headers["Location"]).content == layer.data
    for node in (a, b):
        health = httpx.get(f"{node.url}/healthz").json()
        assert health == {"status": "ok", "database": "ok", "storage": "ok", "secrets": "ok"}


def test_an_upload_interrupted_by_a_killed_node_finishes_through_the_other(
    two_nodes: tuple[DockyardProcess, DockyardProcess],
) -> None:
    a, b = two_nodes
    ecr_as(a.url, ROOT_KEY).create_repository(repositoryName="resumable")
    password = login_password(a.url)
    data = os.urandom(13 * 1024 * 1024 + 321)  # S3 parts of 5 MiB and more, and a tail
    digest = sha256_digest(data)
    chunk = 3 * 1024 * 1024
    with httpx.Client(headers=basic(password), timeout=120) as on_a:
        started = on_a.post(f"{a.url}/v2/resumable/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        path = location[location.index("/v2/") :] if "://" in location else location
        offset = 0
        for _ in range(3):  # 9 MiB through A
            piece = data[offset : offset + chunk]
            r = on_a.patch(
                f"{a.url}{path}",
                content=piece,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
            )
            assert r.status_code == 202, r.text
            offset += len(piece)
            path = r.headers["Location"]
            path = path[path.index("/v2/") :] if "://" in path else path
    assert a.kill() == -signal.SIGKILL

    with httpx.Client(headers=basic(password), timeout=120) as on_b:
        status = on_b.get(f"{b.url}{path}")
        assert status.status_code == 204, status.text
        assert status.headers["Range"] == f"0-{offset - 1}"
        rest = data[offset:]
        r = on_b.patch(
            f"{b.url}{path}",
            content=rest,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{len(data) - 1}",
            },
        )
        assert r.status_code == 202, r.text
        path = r.headers["Location"]
        path = path[path.index("/v2/") :] if "://" in path else path
        sep = "&" if "?" in path else "?"
        done = on_b.put(f"{b.url}{path}{sep}digest={digest}")
        assert done.status_code == 201, done.text
        head = on_b.head(f"{b.url}/v2/resumable/blobs/{digest}")
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == len(data)
        got = on_b.get(f"{b.url}/v2/resumable/blobs/{digest}", follow_redirects=True)
        assert got.status_code == 200
        assert sha256_digest(got.content) == digest


def _scan_jobs(database_url: str) -> list[tuple[str, str | None]]:
    """(state, owner) of every scan job, read straight from the database: polled every few
    milliseconds, which the CLI (a second to start) cannot do."""
    engine = sqlalchemy.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text("SELECT state, lease_owner FROM jobs WHERE kind = 'scan-image'")
            ).all()
    finally:
        engine.dispose()
    return [(str(r[0]), r[1]) for r in rows]


def test_a_job_whose_node_dies_is_taken_over_after_its_lease(cluster: Cluster) -> None:
    a = cluster.node("a")
    a.start_ready(timeout=90)
    ecr = ecr_as(a.url, ROOT_KEY)
    ecr.create_repository(repositoryName="scanned")
    password = login_password(a.url)
    # Many small files: a scan that runs for seconds (it costs per file), from an image
    # quick to build and push (6 MB; 400 MB of larger files scanned only 30% longer).
    image = make_image("slow-scan", layers=6, files_per_layer=12000, max_file_size=64)
    with httpx.Client(headers=basic(password), timeout=120) as client:
        for blob in image.blobs:
            r = client.post(
                f"{a.url}/v2/scanned/blobs/uploads/?digest={blob.digest}",
                content=blob.data,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
        r = client.put(
            f"{a.url}/v2/scanned/manifests/v1",
            content=image.manifest.data,
            headers={"Content-Type": image.manifest.media_type},
        )
        assert r.status_code == 201, r.text
    ecr.start_image_scan(repositoryName="scanned", imageId={"imageTag": "v1"})
    workers = {str(p.pid) for p in psutil.Process(a.pid).children()}

    def running_on_a() -> bool:
        return any(
            state == "running" and owner is not None and owner.split(":")[1] in workers
            for state, owner in _scan_jobs(cluster.database_url)
        )

    _wait_for(running_on_a, 60, "the scan running on node A")
    assert a.kill() == -signal.SIGKILL
    killed_at = time.monotonic()

    b = cluster.node("b")
    b.start_ready(timeout=90)
    try:
        on_b = ecr_as(b.url, ROOT_KEY)

        def complete() -> bool:
            found = on_b.describe_image_scan_findings(
                repositoryName="scanned", imageId={"imageTag": "v1"}
            )
            return bool(found["imageScanStatus"]["status"] == "COMPLETE")

        _wait_for(complete, 180, "the scan completed by node B")
        # Not before the lease ran out: B waited for A's lease instead of running it twice.
        assert time.monotonic() - killed_at >= LEASE_SECONDS - 1
        # The operator's view: one scan job, done, by a worker of node B.
        shown = run(
            [
                sys.executable, "-m", "dockyard", "jobs", "--data-dir", str(b.data_dir), "--json",
            ],
            env={**os.environ, **(b.env or {}), "DOCKYARD_DATABASE_URL": cluster.database_url},
        )  # fmt: skip
        scans = [j for j in json.loads(shown.stdout) if j["kind"] == "scan-image"]
        assert [j["state"] for j in scans] == ["done"], scans
        b_workers = {str(p.pid) for p in psutil.Process(b.pid).children()}
        assert scans[0]["owner"].split(":")[1] in b_workers, scans
    finally:
        b.stop_cleanly()
