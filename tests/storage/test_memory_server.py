"""A registry on the memory backend serves pushes and pulls like one on the filesystem."""

from __future__ import annotations

from pathlib import Path

import httpx

from dockyard.domain.digests import Digest
from tests.support.servers import DockyardProcess


def test_a_chunked_push_and_a_pull_through_a_memory_store(tmp_path: Path) -> None:
    layer = bytes(range(256)) * 8192  # 2 MiB, in two chunks
    digest = str(Digest.of(layer))
    server = DockyardProcess(tmp_path / "data", extra_args=["--storage-backend", "memory"])
    with server.serving(), httpx.Client(base_url=server.url, timeout=30) as client:
        started = client.post("/v2/team/app/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        half = len(layer) // 2
        for start, part in ((0, layer[:half]), (half, layer[half:])):
            patched = client.patch(
                location,
                content=part,
                headers={
                    "content-type": "application/octet-stream",
                    "content-range": f"{start}-{start + len(part) - 1}",
                },
            )
            assert patched.status_code == 202, patched.text
            location = patched.headers["location"]
        finished = client.put(location, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        pulled = client.get(f"/v2/team/app/blobs/{digest}")
        assert pulled.status_code == 200 and pulled.content == layer
        ranged = client.get(f"/v2/team/app/blobs/{digest}", headers={"range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == layer[10:20]
    assert not (tmp_path / "data" / "storage").exists()  # no bytes on disk
