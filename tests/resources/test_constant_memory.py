"""Blobs stream through the server in constant memory.

A 1 GiB layer is pushed (monolithic and in chunks) and pulled while the server's RSS
is sampled; it must stay under 250 MB. The 4 GiB figure lives in the benchmarks.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import DockyardProcess

GiB = 1 << 30
BLOCK = 4 << 20
RSS_LIMIT = 250 * 1000 * 1000


def _stream(total: int) -> Iterator[bytes]:
    seed = hashlib.sha256(b"constant-memory").digest() * (BLOCK // 32)
    for index in range(total // BLOCK):
        yield index.to_bytes(8, "big") + seed[8:]


def _digest(total: int) -> str:
    hasher = hashlib.sha256()
    for block in _stream(total):
        hasher.update(block)
    return f"sha256:{hasher.hexdigest()}"


class _PeakRss:
    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(tmp_path / "data", log_dir=tmp_path / "log")
    proc.start()
    proc.wait_ready(timeout=30)
    yield proc
    assert proc.stop() == 0


def test_a_gigabyte_layer_streams_in_constant_memory(server: DockyardProcess) -> None:
    digest = _digest(GiB)
    with httpx.Client(base_url=server.url, timeout=300) as http, _PeakRss(server.pid) as rss:
        pushed = http.post(f"/v2/mem/big/blobs/uploads/?digest={digest}", content=_stream(GiB))
        assert pushed.status_code == 201, pushed.text

        start = http.post("/v2/mem/chunked/blobs/uploads/")
        location, offset = start.headers["Location"], 0
        for block in _stream(GiB):
            headers = {"Content-Range": f"{offset}-{offset + len(block) - 1}"}
            patched = http.patch(location, content=block, headers=headers)
            assert patched.status_code == 202, patched.text
            location, offset = patched.headers["Location"], offset + len(block)
        done = http.put(location, params={"digest": digest})
        assert done.status_code == 201, done.text

        for repository in ("mem/big", "mem/chunked"):
            hasher, size = hashlib.sha256(), 0
            with http.stream("GET", f"/v2/{repository}/blobs/{digest}") as pulled:
                assert pulled.status_code == 200
                for chunk in pulled.iter_bytes(1 << 20):
                    hasher.update(chunk)
                    size += len(chunk)
            assert (size, f"sha256:{hasher.hexdigest()}") == (GiB, digest)
    print(f"server peak RSS during 1 GiB push x2 and pull x2: {rss.peak / 1e6:.0f} MB")
    assert 0 < rss.peak < RSS_LIMIT, f"peak RSS {rss.peak / 1e6:.0f} MB"
