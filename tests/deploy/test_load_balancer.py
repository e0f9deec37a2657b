"""deploy/compose/nginx.conf, run by a real nginx in front of two real Dockyard nodes.

The file is used as written, except for addresses: the two upstream servers and the listen
port become loopback ports, and nginx keeps its pid, logs and temporary files in a private
directory. The nodes run with authentication on, over one SQLite data directory and one
filesystem store (PostgreSQL and S3 are what a container engine would add). Through nginx:
AWS-signed ECR calls (the signature covers the Host header nginx must pass on), a layer
bigger than nginx's default body limit in one request and in chunks, a pull checked byte
for byte, and requests spread over both nodes. Skipped where nginx is not installed
(Debian's ``nginx`` package).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.test_manifests import COMPOSE_DIR, NODES
from tests.support.auth import basic, ecr_client, login_password
from tests.support.images import add_query, make_image, push_blob, push_manifest
from tests.support.servers import LOOPBACK, DockyardProcess, free_port

pytestmark = pytest.mark.timeout(300)

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
)


def nginx_config(upstreams: dict[str, int], listen: int, work: Path) -> str:
    """The compose file's nginx.conf with loopback addresses and private paths."""
    text = (COMPOSE_DIR / "nginx.conf").read_text()
    for node, port in upstreams.items():
        text, count = re.subn(rf"\b{re.escape(node)}:5000\b", f"{LOOPBACK}:{port}", text)
        assert count == 1, f"{node} is one upstream server"
    text, count = re.subn(r"listen 5000;", f"listen {LOOPBACK}:{listen};", text)
    assert count == 1
    temp = {name: work / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    paths = "\n".join(f"    {name}_temp_path {path};" for name, path in temp.items())
    text, count = re.subn(r"http \{\n", "http {\n" + paths + "\n", text)
    assert count == 1
    return f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} info;\n" + text


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[DockyardProcess]]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian package nginx)")
    lb_port = free_port()
    lb_url = f"http://{LOOPBACK}:{lb_port}"
    nodes = [
        DockyardProcess(
            tmp_path / "data",
            env={"DOCKYARD_PUBLIC_URL": lb_url, "DOCKYARD_KEEP_ALIVE_TIMEOUT": "75s"},
            extra_args=["--access-log"],
            log_dir=tmp_path / name,
            open_access=False,
        )
        for name in NODES
    ]
    work = tmp_path / "nginx"
    work.mkdir()
    config = work / "nginx.conf"
    config.write_text(
        nginx_config(dict(zip(NODES, (n.port for n in nodes), strict=True)), lb_port, work)
    )
    for node in nodes:
        node.start_ready()
    proxy = subprocess.Popen(
        [NGINX, "-p", str(work), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{lb_url}/livez", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proxy.poll() is not None or time.monotonic() > deadline:
                errors = (work / "stderr.log").read_text() + (work / "error.log").read_text()
                pytest.fail(f"nginx did not start: {errors}")
            time.sleep(0.1)
        yield lb_url, nodes
    finally:
        proxy.send_signal(signal.SIGQUIT)
        try:
            proxy.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
        for node in nodes:
            if node.running:
                node.stop_cleanly()


def test_a_push_and_pull_through_the_load_balancer(
    cluster: tuple[str, list[DockyardProcess]],
) -> None:
    lb_url, nodes = cluster
    # SigV4 through nginx: the signature covers the Host header.
    ecr = ecr_client(lb_url)
    ecr.create_repository(repositoryName="team/app")
    password = login_password(lb_url)

    image = make_image("deploy-lb", layers=1)
    big = os.urandom(24 << 20)  # 24 MiB: nginx refuses more than 1 MiB unless told otherwise
    chunked = os.urandom(12 << 20)
    with httpx.Client(base_url=lb_url, headers=basic(password), timeout=120) as client:
        for blob in image.blobs:
            push_blob(client, "team/app", blob)
        big_digest = push_blob(client, "team/app", big)  # one POST with the whole body
        chunked_digest = "sha256:" + hashlib.sha256(chunked).hexdigest()
        started = client.post("/v2/team/app/blobs/uploads/", headers={"Content-Length": "0"})
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        step = 5 << 20
        for offset in range(0, len(chunked), step):
            piece = chunked[offset : offset + step]
            answer = client.patch(
                location,
                content=piece,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
            )
            assert answer.status_code == 202, answer.text
            location = answer.headers["Location"]
        done = client.put(add_query(location, digest=chunked_digest), content=b"")
        assert done.status_code == 201, done.text
        push_manifest(client, "team/app", "v1", image.manifest)

        for digest, data in ((big_digest, big), (chunked_digest, chunked)):
            with client.stream("GET", f"/v2/team/app/blobs/{digest}") as pulled:
                assert pulled.status_code == 200
                hashed = hashlib.sha256()
                for part in pulled.iter_bytes():
                    hashed.update(part)
            assert (
                "sha256:" + hashed.hexdigest()
                == digest
                == "sha256:" + (hashlib.sha256(data).hexdigest())
            )
        got = client.get("/v2/team/app/manifests/v1", headers={"Accept": image.manifest.media_type})
        assert got.status_code == 200
        assert got.headers["Docker-Content-Digest"] == image.digest

    described = ecr.describe_images(repositoryName="team/app")["imageDetails"]
    assert [d["imageDigest"] for d in described] == [image.digest]
    # nginx spread the requests: each node's access log has some.
    for node in nodes:
        assert "/v2/team/app/" in node.log_text(), f"{node.url} served nothing"
