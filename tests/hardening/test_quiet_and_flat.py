"""The acceptance check: under unauthenticated bodies, endless headers, idle and trickling
connections, stalled bodies and clients that leave mid-body, the server's memory stays flat
(its RSS is sampled throughout) and its log stays quiet (no traceback, no warning, at most
one info line per request that was cut short), and every such connection is closed.

Before the fixes this test saw the server go from 95 MiB to a peak of 317 MiB (six
unauthenticated 32 MiB bodies held in memory, endless headers buffered); after them, to about
104 MiB. The bound, 30 MiB of growth, is well above that noise and far below the bug."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.hardening.conftest import KEEP_ALIVE, TIMEOUT, TIMEOUT_ENV, ServerLog
from tests.hardening.rawhttp import (
    ECR_TARGET,
    closed_within,
    connect,
    ecr_headers,
    request_head,
    send_quietly,
)
from tests.support.auth import basic
from tests.support.ecr import login_client, login_password, make_client, upload_layer
from tests.support.images import push_blob
from tests.support.servers import DockyardProcess

MiB = 1 << 20
GROWTH_LIMIT = 30 * MiB
CHUNK = b"\0" * MiB


class PeakRss:
    """The largest RSS of ``pid`` seen while the block runs (sampled every 10 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        value: int = self.process.memory_info().rss
        return value

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def open_connections(process: psutil.Process) -> list[Any]:
    # net_connections is psutil 6's name for connections.
    listing = getattr(process, "net_connections", None) or process.connections
    return [c for c in listing("tcp") if c.status != psutil.CONN_LISTEN]


@pytest.fixture
def quiet_server(tmp_path: Path) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path / "data", log_dir=tmp_path / "log", open_access=False, env=TIMEOUT_ENV
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


# --------------------------------------------------------------------------- the cases
# Each returns what went wrong on the client's side (a connection left open), or None; the
# test checks memory first, as the sharpest symptom.

Problem = str | None


def unauthenticated_body(server: DockyardProcess) -> Problem:
    """A 32 MiB PutImage body without credentials: 31 MiB sent, then the socket held."""
    headers = {"X-Amz-Target": ECR_TARGET + "PutImage", "Content-Length": str(32 * MiB)}
    with connect(server) as sock:
        if send_quietly(sock, request_head("POST", "/", headers)):
            for _ in range(31):
                if not send_quietly(sock, CHUNK):
                    break
        time.sleep(1)
    return None


def endless_headers(server: DockyardProcess) -> Problem:
    with connect(server) as sock:
        send_quietly(sock, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(32 * 16):  # 32 MiB of headers
            if not send_quietly(sock, b"X-Filler: " + b"a" * 65536 + b"\r\n"):
                return None
        return "32 MiB of headers were taken"


def idle(server: DockyardProcess) -> Problem:
    with connect(server) as sock:
        if closed_within(sock, TIMEOUT + 3) is None:
            return "an idle connection stayed open"
    return None


def trickling_headers(server: DockyardProcess) -> Problem:
    with connect(server) as sock:
        send_quietly(sock, b"GET /v2/ HTTP/1.1\r\n")
        deadline = time.monotonic() + TIMEOUT + 3
        while time.monotonic() < deadline:
            if not send_quietly(sock, b"X") or closed_within(sock, 0.1) is not None:
                return None
    return "trickling headers kept the connection open"


def upload_then(server: DockyardProcess, auth: dict[str, str], sent: int, stall: bool) -> Problem:
    """A PATCH announcing 32 MiB that sends ``sent`` bytes, then stalls or leaves."""
    with login_client(make_client(server.url), server.url) as v2:
        location = v2.post("/v2/flat/test/blobs/uploads/").headers["Location"]
    headers = {**auth, "Content-Length": str(32 * MiB), "Content-Type": "application/octet-stream"}
    with connect(server) as sock:
        send_quietly(sock, request_head("PATCH", location, headers))
        for _ in range(sent // MiB):
            send_quietly(sock, CHUNK)
        if stall and closed_within(sock, TIMEOUT + 3) is None:
            return "a stalled body kept the connection open"
        time.sleep(0.2)
    return None


def ecr_body_then_leave(server: DockyardProcess) -> Problem:
    body = json.dumps({"repositoryName": "flat/test", "imageManifest": "x" * 4 * MiB}).encode()
    with connect(server) as sock:
        send_quietly(sock, request_head("POST", "/", ecr_headers(server, "PutImage", body)))
        send_quietly(sock, body[:MiB])
        time.sleep(0.2)
    return None


def the_attack(server: DockyardProcess, auth: dict[str, str]) -> tuple[int, list[str]]:
    """Every case at once; how many requests were cut short (each may log one line), and
    the problems seen."""
    jobs: list[Callable[[], Problem]] = (
        [lambda: unauthenticated_body(server)] * 6
        + [lambda: endless_headers(server)] * 2
        + [lambda: idle(server)] * 10
        + [lambda: trickling_headers(server)] * 10
        + [lambda: upload_then(server, auth, 8 * MiB, stall=False)] * 3
        + [lambda: upload_then(server, auth, 2 * MiB, stall=True)] * 3
        + [lambda: ecr_body_then_leave(server)] * 3
    )
    with ThreadPoolExecutor(len(jobs)) as pool:
        problems = [p for p in pool.map(lambda job: job(), jobs) if p is not None]
    return 2 + 3 + 3 + 3, problems


def test_memory_flat_log_quiet(quiet_server: DockyardProcess) -> None:
    server = quiet_server
    ecr: Any = make_client(server.url)
    ecr.create_repository(repositoryName="flat/test")
    auth = basic(login_password(ecr))
    process = psutil.Process(server.pid)
    # Warm up with ordinary requests, so that first-use costs (imports, the ECR model, a
    # thread pool) are paid before measuring: a body of each kind on each door.
    with login_client(ecr, server.url) as v2:
        push_blob(v2, "flat/test", b"warm-up" * 1000)
    upload_layer(ecr, "flat/test", b"warm-up layer" * 1000)
    time.sleep(0.5)
    log = ServerLog(server)
    with PeakRss(server.pid) as rss:
        before = rss.rss()
        cut_short, problems = the_attack(server, auth)
        time.sleep(0.5)
        after = rss.rss()
    print(
        f"server RSS: before {before / MiB:.0f} MiB, peak {rss.peak / MiB:.0f} MiB, "
        f"after {after / MiB:.0f} MiB"
    )
    assert rss.peak - before < GROWTH_LIMIT, f"RSS grew {(rss.peak - before) / MiB:.0f} MiB"
    assert after - before < GROWTH_LIMIT
    assert not problems
    # Every connection is closed by then, or soon: kept-alive ones after their timeout.
    deadline = time.monotonic() + KEEP_ALIVE + 3
    while open_connections(process) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not open_connections(process)
    text = log.text()
    for word in ("Traceback", "ERROR", "WARNING", "CRITICAL"):
        assert word not in text, text[-5000:]
    assert len(log.lines()) <= cut_short, text
