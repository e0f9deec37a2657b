"""SIGKILL the server in the middle of writes, restart it on the same data dir, check state.

What must hold after a crash:
* a blob whose upload did not finish is not visible under its digest;
* an upload session keeps the bytes of the chunks that were acknowledged (202) before the
  crash, and can be resumed from there and completed;
* every tag resolves to a complete manifest whose blobs are all downloadable and correct,
  and every manifest PUT that was acknowledged (201) before the crash is still there.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.crash.conftest import Spawn
from tests.oci.helpers import (
    assert_error,
    blob_url,
    finish_upload,
    parse_range,
    patch_chunk,
    random_bytes,
    sha256_digest,
    start_upload,
    upload_location,
)
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_INDEX,
    Image,
    add_query,
    make_image,
    make_index,
    push_blob,
    push_manifest,
)

pytestmark = [pytest.mark.crash, pytest.mark.timeout(120)]

MiB = 1024 * 1024
PIECE = 64 * 1024


def _slow_body(data: bytes, started: threading.Event, delay: float = 0.02) -> Iterator[bytes]:
    """Yield `data` in 64 KiB pieces, sleeping between them; set `started` after 512 KiB."""
    for i in range(0, len(data), PIECE):
        yield data[i : i + PIECE]
        if i >= 8 * PIECE:
            started.set()
        time.sleep(delay)


def _in_background(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `fn()` in a thread; the dict gets "response" or "error"."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["response"] = fn()
        except Exception as exc:  # the server dies under the request: any error is expected
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_sigkill_mid_chunked_upload(spawn: Spawn, data_dir: Path) -> None:
    repo = "crash/chunked"
    data = random_bytes(6 * MiB, "sigkill-chunked")
    digest = sha256_digest(data)
    srv = spawn(data_dir)

    with httpx.Client(base_url=srv.url, timeout=30) as c:
        _, location = start_upload(c, repo)
        done = 0
        for size in (MiB, MiB):
            r = patch_chunk(c, location, data[done : done + size], done)
            assert r.status_code == 202, r.text[:300]
            done += size
            assert parse_range(r.headers.get("range")) == (0, done - 1)
            location = upload_location(c, r)

    # A third chunk is streamed slowly; the server is killed while it is being received.
    third = data[done : done + 3 * MiB]
    started = threading.Event()

    def slow_patch() -> httpx.Response:
        with httpx.Client(timeout=30) as c2:
            return c2.patch(
                location,
                content=_slow_body(third, started),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(len(third)),
                    "Content-Range": f"{done}-{done + len(third) - 1}",
                },
            )

    thread, out = _in_background(slow_patch)
    assert started.wait(15), "the slow PATCH never got going"
    time.sleep(0.1)
    assert srv.kill() == -9
    thread.join(15)
    assert "response" not in out, f"PATCH finished before the kill: {out['response']}"

    srv = spawn(data_dir, port=srv.port)  # same port: the Location URL stays valid
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.head(blob_url(repo, digest))
        assert r.status_code == 404, "an unfinished upload must not be visible as a blob"

        status = c.get(location)
        assert status.status_code == 204, f"upload session lost in the crash: {status.text}"
        assert parse_range(status.headers.get("range")) == (0, done - 1), (
            "after the crash the session must report exactly the acknowledged chunks"
        )
        location = upload_location(c, status)

        r = patch_chunk(c, location, data[done:], done)
        assert r.status_code == 202, r.text[:300]
        assert parse_range(r.headers.get("range")) == (0, len(data) - 1)
        r = finish_upload(c, upload_location(c, r), digest)
        assert r.status_code == 201, r.text[:300]
        assert r.headers["docker-content-digest"] == digest

        got = c.get(blob_url(repo, digest))
        assert got.status_code == 200
        assert sha256_digest(got.content) == digest
        assert got.content == data


@pytest.mark.parametrize("method", ["single-post", "post-then-put", "patch-then-put"])
def test_sigkill_mid_monolithic_upload(spawn: Spawn, data_dir: Path, method: str) -> None:
    repo = "crash/mono"
    data = random_bytes(4 * MiB, f"sigkill-mono-{method}")
    digest = sha256_digest(data)
    srv = spawn(data_dir)
    started = threading.Event()
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}

    with httpx.Client(base_url=srv.url, timeout=30) as c:
        if method == "single-post":
            url = f"{srv.url}/v2/{repo}/blobs/uploads/?digest={digest}"
            verb = "POST"
        else:
            _, location = start_upload(c, repo)
            verb = "PUT"
            url = add_query(location, digest=digest)
            if method == "patch-then-put":
                # Everything but the last byte goes in a PATCH; the final PUT is streamed.
                r = patch_chunk(c, location, data[:1], 0)
                assert r.status_code == 202
                url = add_query(upload_location(c, r), digest=digest)
                body = data[1:]
                headers = {**headers, "Content-Length": str(len(body))}

    payload = data if method != "patch-then-put" else data[1:]

    def slow_upload() -> httpx.Response:
        with httpx.Client(timeout=30) as c2:
            return c2.request(verb, url, content=_slow_body(payload, started), headers=headers)

    thread, out = _in_background(slow_upload)
    assert started.wait(15), "the slow upload never got going"
    time.sleep(0.1)
    srv.kill()
    thread.join(15)
    assert "response" not in out, f"upload finished before the kill: {out['response']}"

    srv = spawn(data_dir, port=srv.port)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.head(blob_url(repo, digest))
        assert r.status_code == 404, "a half-received blob must not be visible"
        r = c.get(blob_url(repo, digest))
        assert_error(r, 404, "BLOB_UNKNOWN", "NAME_UNKNOWN")
        # The same blob can be uploaded again and is then intact.
        push_blob(c, repo, data, monolithic_post=False)
        got = c.get(blob_url(repo, digest))
        assert got.status_code == 200
        assert got.content == data


# --- concurrent manifest PUTs ---------------------------------------------------------------
WORKERS = 4
TAGS_PER_WORKER = 3


@dataclass
class WorkerLog:
    """What one worker did to its own tags (no other worker touches them)."""

    acked: dict[str, str] = field(default_factory=dict)  # tag -> last digest acknowledged
    in_flight: dict[str, str] = field(default_factory=dict)  # tag -> digest being PUT
    pushes: int = 0
    error: str | None = None  # what stopped the worker


def _worker(url: str, repo: str, k: int, log: WorkerLog, stop: threading.Event) -> None:
    """Push images and repoint this worker's tags at them until the server dies."""
    previous: Image | None = None
    i = 0
    try:
        with httpx.Client(base_url=url, timeout=10) as c:
            while not stop.is_set():
                img = make_image(f"w{k}/{i}", layers=2, files_per_layer=1, max_file_size=4096)
                for b in img.blobs:
                    push_blob(c, repo, b)
                push_manifest(c, repo, img.digest, img.manifest)
                # One tag gets an index over this and the previous image, the others the image.
                index = make_index([previous.manifest, img.manifest]) if previous else None
                for j in range(TAGS_PER_WORKER):
                    tag = f"w{k}-t{j}"
                    manifest = index if index is not None and (i + j) % 3 == 0 else img.manifest
                    log.in_flight[tag] = manifest.digest
                    push_manifest(c, repo, tag, manifest)
                    log.acked[tag] = manifest.digest
                    del log.in_flight[tag]
                log.pushes += 1
                previous = img
                i += 1
    except (httpx.HTTPError, AssertionError) as exc:
        log.error = repr(exc)[:500]  # normally: the server was killed under us


def _verify_manifest(c: httpx.Client, repo: str, reference: str, depth: int = 0) -> str:
    """GET a manifest and every blob/child it references; return its digest."""
    r = c.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200, f"{reference}: {r.status_code} {r.text[:200]}"
    digest = sha256_digest(r.content)
    assert r.headers["docker-content-digest"] == digest
    doc = json.loads(r.content)
    if doc.get("mediaType") == OCI_INDEX or "manifests" in doc:
        assert depth < 3
        for child in doc["manifests"]:
            assert _verify_manifest(c, repo, child["digest"], depth + 1) == child["digest"]
        return digest
    for desc in [doc["config"], *doc["layers"]]:
        b = c.get(blob_url(repo, desc["digest"]))
        assert b.status_code == 200, f"{reference} references missing blob {desc['digest']}"
        assert sha256_digest(b.content) == desc["digest"]
        assert len(b.content) == desc["size"]
    return digest


def test_sigkill_during_concurrent_manifest_puts(spawn: Spawn, data_dir: Path) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    repo = "crash/tags"
    srv = spawn(data_dir)
    stop = threading.Event()
    logs = [WorkerLog() for _ in range(WORKERS)]
    threads = [
        threading.Thread(target=_worker, args=(srv.url, repo, k, logs[k], stop), daemon=True)
        for k in range(WORKERS)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(log.pushes for log in logs) < WORKERS * 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sum(log.pushes for log in logs) >= WORKERS * 2, (
        f"workers made no progress: {[log.error for log in logs]}"
    )
    time.sleep(rng.uniform(0.0, 1.0))
    srv.kill()
    stop.set()
    for t in threads:
        t.join(15)
    # Snapshot what the workers knew at the moment of the kill.
    acked = {tag: d for log in logs for tag, d in log.acked.items()}
    in_flight = {tag: d for log in logs for tag, d in log.in_flight.items()}

    srv = spawn(data_dir, port=srv.port)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.get(f"/v2/{repo}/tags/list", params={"n": 1000})
        assert r.status_code == 200, r.text[:300]
        tags = r.json()["tags"] or []
        for tag in tags:
            digest = _verify_manifest(c, repo, tag)
            allowed = {acked.get(tag), in_flight.get(tag)} - {None}
            assert digest in allowed, (
                f"seed={seed}: tag {tag} -> {digest}, expected the last acknowledged "
                f"({acked.get(tag)}) or the in-flight ({in_flight.get(tag)}) manifest"
            )
        missing = sorted(set(acked) - set(tags))
        assert not missing, f"seed={seed}: acknowledged tags lost in the crash: {missing}"
