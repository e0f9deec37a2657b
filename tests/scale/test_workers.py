"""``dockyard serve --workers N``: one port, several processes, one registry.

The supervisor's promises (spread, replacement, drain, death with the parent) and
what must hold across workers: a change made through one worker is seen at once
by the next request on any other (policies, key status), an upload continues
through whichever worker the next connection lands on, races are decided once.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.auth import ROOT_KEY, basic, login_password
from tests.support.authz import dumps, ecr_as, iam_client, make_user, password_of
from tests.support.images import Image, make_image, sha256_digest
from tests.support.servers import DockyardProcess, fresh_request

WORKERS = 3


def _start(tmp_path: Path, *args: str, open_access: bool = True) -> DockyardProcess:
    server = DockyardProcess(
        tmp_path / "data",
        extra_args=["--workers", str(WORKERS), "--log-format", "json", "--access-log", *args],
        open_access=open_access,
    )
    server.start_ready(timeout=60)
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DockyardProcess]:
    """A server of its own, for a test that kills or stops it."""
    server = _start(tmp_path)
    yield server
    if server.running:
        server.stop_cleanly()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    """One open server for the tests that only send it requests."""
    server = _start(tmp_path_factory.mktemp("shared"))
    yield server
    server.stop_cleanly()


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    """One server that wants credentials, for the tests that only send it requests."""
    server = _start(tmp_path_factory.mktemp("closed"), open_access=False)
    yield server
    server.stop_cleanly()


def _workers(server: DockyardProcess) -> list[psutil.Process]:
    return psutil.Process(server.pid).children()


def _listening(server: DockyardProcess) -> set[int]:
    """The workers that accept connections (a new one is still starting until it does)."""
    return {
        w.pid
        for w in _workers(server)
        if any(c.status == psutil.CONN_LISTEN for c in w.net_connections())
    }


def _wait_for(probe: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s")


def _served_by(server: DockyardProcess, since: int = 0) -> Counter[int]:
    """Requests per worker pid, from the access lines logged after ``since`` (a length of
    ``log_text()``): the tests share a server."""
    served: Counter[int] = Counter()
    for line in server.log_text()[since:].splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["logger"] == "uvicorn.access":
                served[entry["pid"]] += 1
    return served


def test_workers_share_the_port_and_log_json(shared: DockyardProcess) -> None:
    server = shared
    children = _workers(server)
    assert len(children) == WORKERS
    since = len(server.log_text())
    for _ in range(60):
        assert fresh_request("GET", f"{server.url}/v2/").status_code == 200
    pids = set(_served_by(server, since))
    # Every access line is JSON with the pid of the worker that served it.
    assert pids <= {c.pid for c in children}
    assert len(pids) >= 2, f"60 connections all landed on one worker: {pids}"


def test_a_burst_of_connections_is_shared_between_workers(shared: DockyardProcess) -> None:
    """Clients that connect at once (a CI fan-out, a load balancer's pool) keep their
    connections: if the first worker to wake took them all, one core would serve them."""
    server = shared
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    # The server answers once one worker listens; the others may still be starting.
    _wait_for(lambda: len(_listening(server)) == WORKERS)
    since = len(server.log_text())
    burst = [socket.create_connection((host, int(port)), timeout=30) for _ in range(30)]
    try:
        for sock in burst:
            sock.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        for sock in burst:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for sock in burst:
            sock.close()
    served = _served_by(server, since)
    assert sum(served.values()) == 30
    assert len(served) == WORKERS and max(served.values()) <= 20, served


def test_probes(shared: DockyardProcess) -> None:
    server = shared
    live = fresh_request("GET", f"{server.url}/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    health = fresh_request("GET", f"{server.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "storage": "ok", "secrets": "ok"}


def test_probes_need_no_credentials_and_report_a_broken_store(tmp_path: Path) -> None:
    server = _start(tmp_path, open_access=False)
    try:
        assert fresh_request("GET", f"{server.url}/v2/").status_code == 401
        assert fresh_request("GET", f"{server.url}/livez").status_code == 200
        assert fresh_request("GET", f"{server.url}/healthz").status_code == 200
        # The blob store's directory becomes a file: the store cannot answer any more.
        storage = tmp_path / "data" / "storage"
        storage.rename(tmp_path / "storage-gone")
        storage.write_text("not a directory")
        health = fresh_request("GET", f"{server.url}/healthz")
        assert health.status_code == 503, health.text
        assert health.json()["database"] == "ok"
        assert health.json()["storage"].startswith("failed")
        assert fresh_request("GET", f"{server.url}/livez").status_code == 200
    finally:
        server.stop_cleanly()


def test_a_dead_worker_is_replaced(server: DockyardProcess) -> None:
    # The server answers once one worker listens: killing that one before the others
    # listen would leave none (connections are refused until a worker listens again).
    _wait_for(lambda: len(_listening(server)) == WORKERS)
    victim = _workers(server)[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    # The others go on serving while it is replaced.
    for _ in range(10):
        assert fresh_request("GET", f"{server.url}/v2/").status_code == 200

    def replaced() -> bool:
        now = _listening(server)
        return len(now) == WORKERS and victim.pid not in now

    _wait_for(replaced, timeout=60)
    for _ in range(20):
        assert fresh_request("GET", f"{server.url}/v2/").status_code == 200


def test_sigterm_drains_every_worker(server: DockyardProcess) -> None:
    children = _workers(server)
    assert server.stop() == 0
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_workers_die_with_a_sigkilled_parent_and_free_the_port(tmp_path: Path) -> None:
    server = _start(tmp_path)
    children = _workers(server)
    assert server.kill() == -signal.SIGKILL
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers outlived their parent: {[p.pid for p in alive]}"
    # A new node starts on the same port at once: nothing holds it.
    again = DockyardProcess(
        tmp_path / "data", port=server.port, extra_args=["--workers", str(WORKERS)]
    )
    again.start_ready(timeout=60)
    assert fresh_request("GET", f"{again.url}/v2/").status_code == 200
    again.stop_cleanly()


def test_memory_store_refuses_several_workers(tmp_path: Path) -> None:
    server = DockyardProcess(
        tmp_path / "data", extra_args=["--workers", "2", "--storage-backend", "memory"]
    )
    server.start()
    deadline = time.monotonic() + 30
    while server.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.stop() == 2
    assert "memory storage backend lives in one process" in server.log_text()


def test_an_upload_continues_through_any_worker(shared: DockyardProcess) -> None:
    """Each chunk on a new connection: the chunks land on different workers, and the
    hash is rebuilt from the stored bytes where a worker did not see the earlier ones."""
    server = shared
    since = len(server.log_text())
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = sha256_digest(data)
    for attempt in range(4):
        started = fresh_request("POST", f"{server.url}/v2/spread/blobs/uploads/")
        assert started.status_code == 202
        location = started.headers["Location"]
        offset = 0
        for piece in (data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024)):
            url = location if location.startswith("http") else server.url + location
            r = fresh_request(
                "PATCH",
                url,
                content=piece,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
            )
            assert r.status_code == 202, r.text
            offset += len(piece)
            location = r.headers["Location"]
        url = location if location.startswith("http") else server.url + location
        sep = "&" if "?" in url else "?"
        done = fresh_request("PUT", f"{url}{sep}digest={digest}")
        assert done.status_code == 201, done.text
        pulled = fresh_request("GET", f"{server.url}/v2/spread/blobs/{digest}")
        assert pulled.content == data, f"attempt {attempt}"
    assert len(_served_by(server, since)) >= 2


def test_immutable_tag_race_across_workers(closed: DockyardProcess) -> None:
    """20 pushes of different images to one immutable tag, each on its own connection
    over three workers: exactly one wins."""
    server = closed
    ecr = ecr_as(server.url, ROOT_KEY)
    ecr.create_repository(repositoryName="race", imageTagMutability="IMMUTABLE")
    auth = basic(login_password(server.url))
    images = [make_image(f"race-{i}", layers=1) for i in range(20)]
    with httpx.Client(base_url=server.url, headers=auth, timeout=60) as client:
        for image in images:
            for blob in [image.config, *image.layers]:
                r = client.post(  # monolithic upload
                    f"/v2/race/blobs/uploads/?digest={blob.digest}",
                    content=blob.data,
                    headers={"Content-Type": "application/octet-stream"},
                )
                assert r.status_code == 201, r.text

    def put(image: Image) -> int:
        return fresh_request(
            "PUT",
            f"{server.url}/v2/race/manifests/v1",
            content=image.manifest.data,
            headers={**auth, "Content-Type": image.manifest.media_type},
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(put, images))
    assert codes.count(201) == 1, codes
    assert all(c in (201, 400) for c in codes), codes
    tagged = ecr.describe_images(repositoryName="race")["imageDetails"]
    assert [d["imageTags"] for d in tagged if d.get("imageTags")] == [["v1"]]


def test_changes_through_one_worker_are_seen_by_all_at_once(closed: DockyardProcess) -> None:
    """A key disabled, a policy denying: the very next request, whichever worker takes it,
    sees the change (the caches are per process, and a second long)."""
    server = closed
    iam = iam_client(server.url)
    ecr_as(server.url, ROOT_KEY).create_repository(repositoryName="guarded")
    key = make_user(
        iam,
        "alice",
        managed=("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser",),
    )
    password = password_of(ecr_as(server.url, key))
    for round_ in range(6):
        # Warm every worker's cache with the current answer first.
        for _ in range(3 * WORKERS):
            assert (
                fresh_request("GET", f"{server.url}/v2/", headers=basic(password)).status_code
                == 200
            )
        iam.update_access_key(UserName="alice", AccessKeyId=key[0], Status="Inactive")
        for _ in range(3 * WORKERS):
            r = fresh_request("GET", f"{server.url}/v2/", headers=basic(password))
            assert r.status_code == 401, f"round {round_}: a worker still honours the key"
        iam.update_access_key(UserName="alice", AccessKeyId=key[0], Status="Active")

    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "no",
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::000000000000:user/alice"},
                "Action": "ecr:DescribeImages",
            }
        ],
    }
    root = ecr_as(server.url, ROOT_KEY)
    for _round in range(4):
        for _ in range(2 * WORKERS):
            ecr_as(server.url, key).describe_images(repositoryName="guarded")
        root.set_repository_policy(repositoryName="guarded", policyText=dumps(deny))
        for _ in range(2 * WORKERS):
            with pytest.raises(Exception, match="AccessDenied"):
                ecr_as(server.url, key).describe_images(repositoryName="guarded")
        root.delete_repository_policy(repositoryName="guarded")
