"""SIGTERM is a graceful shutdown: in-flight requests complete, then the process exits 0."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.crash.conftest import Spawn
from tests.oci.helpers import (
    blob_url,
    finish_upload,
    parse_range,
    random_bytes,
    sha256_digest,
    start_upload,
    upload_location,
)
from tests.support.images import push_blob
from tests.support.servers import DockyardProcess

pytestmark = [pytest.mark.crash, pytest.mark.timeout(120)]

MiB = 1024 * 1024


def _alive(pid: int) -> bool:
    """True if `pid` is running (not exited, not a zombie waiting to be reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_in_background(srv: DockyardProcess) -> tuple[threading.Thread, list[int | str]]:
    """SIGTERM `srv` from a thread that waits for the exit code (or the failure)."""
    result: list[int | str] = []

    def run() -> None:
        try:
            result.append(srv.stop(timeout=60))
        except Exception as exc:
            result.append(repr(exc))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def test_sigterm_lets_a_slow_blob_download_finish(spawn: Spawn, data_dir: Path) -> None:
    repo = "term/get"
    # Larger than the loopback socket buffers, so most of it is still unsent at SIGTERM.
    data = random_bytes(24 * MiB, "sigterm-get")
    digest = sha256_digest(data)
    srv = spawn(data_dir)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        push_blob(c, repo, data)
        with c.stream("GET", blob_url(repo, digest)) as r:
            assert r.status_code == 200
            chunks = r.iter_raw(64 * 1024)
            received = bytearray(next(chunks))
            stopper, result = _stop_in_background(srv)
            time.sleep(1.0)
            assert _alive(srv.pid), "the server exited while a response was still being sent"
            for i, chunk in enumerate(chunks):
                received += chunk
                if i % 64 == 0:
                    time.sleep(0.01)  # a slow reader
    stopper.join(60)
    assert bytes(received) == data
    assert result == [0], f"exit status after SIGTERM: {result}\n{srv.log_text()[-3000:]}"


def test_sigterm_lets_a_slow_patch_finish(spawn: Spawn, data_dir: Path) -> None:
    repo = "term/patch"
    data = random_bytes(2 * MiB, "sigterm-patch")
    digest = sha256_digest(data)
    srv = spawn(data_dir)
    started = threading.Event()

    def slow_body():
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]
            started.set()
            time.sleep(0.05)  # 32 pieces: about 1.6 s in all

    with httpx.Client(base_url=srv.url, timeout=60) as c:
        _, location = start_upload(c, repo)
        out: dict[str, httpx.Response | Exception] = {}

        def patch() -> None:
            try:
                out["r"] = c.patch(
                    location,
                    content=slow_body(),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(len(data)),
                        "Content-Range": f"0-{len(data) - 1}",
                    },
                )
            except Exception as exc:
                out["r"] = exc

        sender = threading.Thread(target=patch, daemon=True)
        sender.start()
        assert started.wait(15)
        time.sleep(0.3)
        stopper, result = _stop_in_background(srv)
        sender.join(60)
        r = out["r"]
        assert isinstance(r, httpx.Response), f"PATCH failed during graceful shutdown: {r!r}"
        assert r.status_code == 202, r.text[:300]
        assert parse_range(r.headers.get("range")) == (0, len(data) - 1)
        location = upload_location(c, r)
    stopper.join(60)
    assert result == [0], f"exit status after SIGTERM: {result}\n{srv.log_text()[-3000:]}"

    # The session outlives the restart and completes into the right blob.
    srv = spawn(data_dir, port=srv.port)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        status = c.get(location)
        assert status.status_code == 204
        assert parse_range(status.headers.get("range")) == (0, len(data) - 1)
        r = finish_upload(c, upload_location(c, status), digest)
        assert r.status_code == 201, r.text[:300]
        got = c.get(blob_url(repo, digest))
        assert got.status_code == 200
        assert got.content == data
    assert srv.stop() == 0


def test_sigterm_when_idle_exits_zero(spawn: Spawn, data_dir: Path) -> None:
    srv = spawn(data_dir)
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        assert c.get("/v2/").status_code == 200  # leaves an idle keep-alive connection open
        started = time.monotonic()
        assert srv.stop(timeout=15) == 0
    assert time.monotonic() - started < 10, "an idle keep-alive connection delayed shutdown"
