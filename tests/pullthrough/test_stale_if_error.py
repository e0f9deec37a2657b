"""Stale if error: an upstream that fails in each way the remote client tells apart (5xx,
429, slower than the timeout, a blob cut off mid-way) while Dockyard serves what it cached;
and a slow upstream's blob streamed to clients as it arrives.

The upstream is a real docker-registry behind ``Front``, a pass-through proxy that the test
switches to failing; the failures are the HTTP answers a registry or its load balancer
gives, so Dockyard's remote client meets them exactly as it would in the field.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tests.remote.peers import ThreadedServer
from tests.support.auth import dockyard_cli
from tests.support.ecr import login_password, make_client
from tests.support.images import MANIFEST_ACCEPT, OCI_LAYER_TAR, Blob, image_from_layers
from tests.support.images import push_image as push
from tests.support.servers import DistributionProcess, DockyardProcess

pytestmark = pytest.mark.timeout(300)

MiB = 1 << 20
TIMEOUT_SECONDS = 2
TRICKLE_SECONDS_PER_MIB = 0.15


class Front:
    """Forwards to ``upstream``, or fails as ``mode`` says: "pass", "503", "429", "slow"
    (answers nothing for longer than Dockyard's upstream timeout), "cut" (every blob answer
    stops after 4 MiB and its connection drops: more than the client's resumes can mend
    for a 32 MiB blob), "trickle" (blobs sent at TRICKLE_SECONDS_PER_MIB)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.client: httpx.AsyncClient | None = None
        self.blob_gets = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if self.mode in ("503", "429"):
            headers = [(b"content-type", b"application/json")]
            if self.mode == "429":
                headers.append((b"retry-after", b"30"))
            await send(
                {"type": "http.response.start", "status": int(self.mode), "headers": headers}
            )
            await send({"type": "http.response.body", "body": b'{"errors":[]}'})
            return
        if self.mode == "slow":
            await asyncio.sleep(TIMEOUT_SECONDS * 3)
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=60)
        url = self.upstream + scope["raw_path"].decode()
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode()
        keep = (b"accept", b"authorization", b"range")
        headers = [(k, v) for k, v in scope["headers"] if k in keep]
        response = await self.client.send(
            self.client.build_request(scope["method"], url, headers=headers), stream=True
        )
        out = [
            (k.lower(), v)
            for k, v in response.headers.raw
            if k.lower() not in (b"connection", b"transfer-encoding", b"keep-alive")
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        sent = 0
        blob_get = "/blobs/" in url and scope["method"] == "GET"
        self.blob_gets += blob_get
        cut = self.mode == "cut" and blob_get
        async for chunk in response.aiter_raw():
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if self.mode == "trickle" and blob_get:
                await asyncio.sleep(len(chunk) / MiB * TRICKLE_SECONDS_PER_MIB)
            if cut and sent >= 4 * MiB:
                await response.aclose()
                raise ConnectionAbortedError("cut off mid-blob")  # uvicorn drops the connection
        await response.aclose()
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[Front, ThreadedServer, DistributionProcess]]:
    upstream = DistributionProcess(tmp_path / "upstream", log_dir=tmp_path / "upstream-log")
    upstream.start_ready()
    app = Front(upstream.url)
    try:
        with ThreadedServer(app) as server:
            yield app, server, upstream
    finally:
        upstream.stop()


@pytest.fixture
def dockyard(tmp_path: Path) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path / "data",
        log_dir=tmp_path / "log",
        open_access=False,
        env={
            "DOCKYARD_CACHE_UPSTREAM_TIMEOUT": f"{TIMEOUT_SECONDS}s",
            "DOCKYARD_CACHE_RECHECK_INTERVAL": "1s",  # every pull asks upstream again
        },
    )
    with proc.serving():
        yield proc


def manifest(v2: httpx.Client, repository: str, tag: str) -> httpx.Response:
    return v2.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT})


def status_of(dockyard: DockyardProcess, prefix: str) -> dict[str, Any]:
    rows = json.loads(dockyard_cli(dockyard.data_dir, "cache", "status", "--json"))
    return dict(next(r for r in rows if r["ecrRepositoryPrefix"] == prefix))


@pytest.mark.parametrize("mode", ["503", "429", "slow"])
def test_a_failing_upstream_serves_the_cached_copy_and_counts_the_failure(
    front: tuple[Front, ThreadedServer, DistributionProcess],
    dockyard: DockyardProcess,
    mode: str,
) -> None:
    app, server, upstream = front
    image = image_from_layers([Blob(OCI_LAYER_TAR, random.Random(mode).randbytes(MiB))])
    uncached = image_from_layers([Blob(OCI_LAYER_TAR, random.Random(mode + "!").randbytes(99))])
    with httpx.Client(base_url=upstream.url, timeout=60) as client:
        digest = push(client, "team/app", image, "v1")
        push(client, "team/other", uncached, "v1")
    ecr = make_client(dockyard.url)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="stale", upstreamRegistryUrl=server.url)
    with httpx.Client(base_url=dockyard.url, auth=("AWS", login_password(ecr)), timeout=60) as v2:
        assert manifest(v2, "stale/team/app", "v1").headers["Docker-Content-Digest"] == digest
        blob = v2.get(f"/v2/stale/team/app/blobs/{image.layers[0].digest}")
        assert blob.content == image.layers[0].data

        app.mode = mode
        time.sleep(1.2)  # past the re-check interval: the next pull asks upstream
        served = manifest(v2, "stale/team/app", "v1")
        assert served.status_code == 200
        assert served.headers["Docker-Content-Digest"] == digest
        by_digest = manifest(v2, "stale/team/app", digest)
        assert by_digest.status_code == 200  # never asks upstream

        refused = manifest(v2, "stale/team/other", "v1")
        assert refused.status_code == 503
        error = refused.json()["errors"][0]
        assert error["code"] == "UNAVAILABLE"
        assert f"upstream registry 127.0.0.1:{server.port} is unavailable" in error["message"]
        if mode == "429":
            assert "429" in error["message"] and "retry after 30 s" in error["message"]
        if mode == "slow":
            assert "Timeout" in error["message"]

    counted = status_of(dockyard, "stale")
    assert counted["upstreamErrors"] == 2
    assert counted["misses"] == 1


def test_an_upstream_dying_mid_blob_commits_nothing(
    front: tuple[Front, ThreadedServer, DistributionProcess], dockyard: DockyardProcess
) -> None:
    app, server, upstream = front
    image = image_from_layers([Blob(OCI_LAYER_TAR, random.Random("cut").randbytes(32 * MiB))])
    layer = image.layers[0]
    with httpx.Client(base_url=upstream.url, timeout=60) as client:
        push(client, "team/cut", image, "v1")
    ecr = make_client(dockyard.url)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="cut", upstreamRegistryUrl=server.url)
    stored = dockyard.data_dir / "storage" / "blobs" / "sha256" / layer.digest[7:9]
    app.mode = "cut"
    with httpx.Client(base_url=dockyard.url, auth=("AWS", login_password(ecr)), timeout=60) as v2:
        assert manifest(v2, "cut/team/cut", "v1").status_code == 200
        with (
            pytest.raises(httpx.HTTPError),
            v2.stream("GET", f"/v2/cut/team/cut/blobs/{layer.digest}") as blob,
        ):
            assert blob.status_code == 200
            received = b"".join(blob.iter_raw())
            assert len(received) < len(layer.data)  # not reached: the body is cut short
        assert not (stored / layer.digest[7:]).exists()
        missing = v2.head(f"/v2/cut/team/cut/blobs/{layer.digest}")
        # Not held: the HEAD asks upstream for the size, the blob itself is not there.
        assert not (stored / layer.digest[7:]).exists()
        assert missing.status_code == 200

        app.mode = "pass"
        whole = v2.get(f"/v2/cut/team/cut/blobs/{layer.digest}")
        assert whole.status_code == 200
        assert whole.content == layer.data
    assert (stored / layer.digest[7:]).stat().st_size == len(layer.data)


def test_a_blob_is_streamed_to_every_waiting_client_while_it_arrives(
    front: tuple[Front, ThreadedServer, DistributionProcess], tmp_path: Path
) -> None:
    """Clients get a blob's first bytes long before the upstream has sent it all (about
    2.4 s here), a second client joining mid-way too, and the upstream sends it once."""
    app, server, upstream = front
    image = image_from_layers([Blob(OCI_LAYER_TAR, random.Random("trickle").randbytes(16 * MiB))])
    layer = image.layers[0]
    with httpx.Client(base_url=upstream.url, timeout=60) as client:
        push(client, "team/slow", image, "v1")
    proc = DockyardProcess(
        tmp_path / "streaming",
        log_dir=tmp_path / "streaming-log",
        open_access=False,
        env={"DOCKYARD_WORKERS": "2"},
    )
    with proc.serving():
        ecr = make_client(proc.url)
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="slow", upstreamRegistryUrl=server.url
        )
        password = login_password(ecr)
        app.mode = "trickle"
        started = time.monotonic()
        timings: dict[str, tuple[float, float]] = {}

        def fetch(who: str) -> None:
            with httpx.Client(base_url=proc.url, auth=("AWS", password), timeout=60) as v2:
                hasher = hashlib.sha256()
                first = None
                with v2.stream("GET", f"/v2/slow/team/slow/blobs/{layer.digest}") as blob:
                    assert blob.status_code == 200
                    for chunk in blob.iter_raw():
                        first = first or time.monotonic() - started
                        hasher.update(chunk)
                assert f"sha256:{hasher.hexdigest()}" == layer.digest
                assert first is not None
                timings[who] = (first, time.monotonic() - started)

        leader = threading.Thread(target=fetch, args=("leader",))
        leader.start()
        time.sleep(0.6)
        fetch("follower")
        leader.join(60)

    whole = 16 * TRICKLE_SECONDS_PER_MIB
    assert timings["leader"][1] >= whole * 0.9  # the upstream's pace: it did trickle
    assert timings["leader"][0] < whole / 2, timings
    assert timings["follower"][0] < timings["leader"][1] - 0.5, timings
    assert app.blob_gets == 1


def test_after_a_failed_recheck_the_cached_copy_is_served_at_once(
    front: tuple[Front, ThreadedServer, DistributionProcess], tmp_path: Path
) -> None:
    """An upstream that hangs holds one pull for the timeout; the pulls after it are served
    from the cache at once, without asking again, until the back-off (capped by the
    re-check interval, 3 s here) has passed."""
    app, server, upstream = front
    image = image_from_layers([Blob(OCI_LAYER_TAR, random.Random("backoff").randbytes(999))])
    with httpx.Client(base_url=upstream.url, timeout=60) as client:
        digest = push(client, "team/hung", image, "v1")
    proc = DockyardProcess(
        tmp_path / "backoff",
        log_dir=tmp_path / "backoff-log",
        open_access=False,
        env={
            "DOCKYARD_CACHE_UPSTREAM_TIMEOUT": f"{TIMEOUT_SECONDS}s",
            "DOCKYARD_CACHE_RECHECK_INTERVAL": "3s",
        },
    )
    with proc.serving():
        ecr = make_client(proc.url)
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="hung", upstreamRegistryUrl=server.url
        )
        with httpx.Client(base_url=proc.url, auth=("AWS", login_password(ecr)), timeout=60) as v2:
            assert manifest(v2, "hung/team/hung", "v1").headers["Docker-Content-Digest"] == digest
            time.sleep(3.2)
            app.mode = "slow"
            started = time.monotonic()
            assert manifest(v2, "hung/team/hung", "v1").status_code == 200
            held = time.monotonic() - started
            assert TIMEOUT_SECONDS * 0.9 <= held < TIMEOUT_SECONDS * 3
            for _ in range(5):
                started = time.monotonic()
                assert manifest(v2, "hung/team/hung", "v1").status_code == 200
                assert time.monotonic() - started < TIMEOUT_SECONDS / 2
        assert status_of(proc, "hung")["upstreamErrors"] == 1


def test_a_node_dying_mid_blob_is_taken_over_by_the_node_that_waits(
    front: tuple[Front, ThreadedServer, DistributionProcess], tmp_path: Path
) -> None:
    """Two nodes on one database and blob store. Node A fetches a blob, node B's client
    follows it; A is killed mid-blob. Once A's lease runs out, B fetches the blob itself and
    its client gets every byte, right, without starting over."""
    app, server, upstream = front
    image = image_from_layers([Blob(OCI_LAYER_TAR, random.Random("nodes").randbytes(16 * MiB))])
    layer = image.layers[0]
    with httpx.Client(base_url=upstream.url, timeout=60) as client:
        push(client, "team/nodes", image, "v1")
    data = tmp_path / "shared"
    # B takes A's fetch over once A's lease is out: shorter than the default 30 s.
    lease = {"DOCKYARD_CACHE_FETCH_LEASE": "6s"}
    node_a = DockyardProcess(data, log_dir=tmp_path / "log-a", open_access=False, env=lease)
    node_b = DockyardProcess(data, log_dir=tmp_path / "log-b", open_access=False, env=lease)
    node_a.start_ready()
    try:
        with node_b.serving():
            ecr = make_client(node_a.url)
            ecr.create_pull_through_cache_rule(
                ecrRepositoryPrefix="nodes", upstreamRegistryUrl=server.url
            )
            password = login_password(ecr)
            app.mode = "trickle"
            path = f"/v2/nodes/team/nodes/blobs/{layer.digest}"
            received: dict[str, bytes | BaseException] = {}

            def fetch(node: DockyardProcess, who: str) -> None:
                try:
                    with httpx.Client(base_url=node.url, auth=("AWS", password), timeout=120) as v2:
                        received[who] = v2.get(path).content
                except BaseException as exc:
                    received[who] = exc

            on_a = threading.Thread(target=fetch, args=(node_a, "a"))
            on_a.start()
            time.sleep(0.5)
            on_b = threading.Thread(target=fetch, args=(node_b, "b"))
            on_b.start()
            time.sleep(0.7)
            node_a.kill()
            on_a.join(30)
            on_b.join(120)
    finally:
        if node_a.running:
            node_a.kill()
    assert isinstance(received["a"], BaseException)  # its node died under it
    assert received["b"] == layer.data
    assert app.blob_gets == 2  # node A's, cut short, then node B's
