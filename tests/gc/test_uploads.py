"""Abandoned upload sessions: kept while young, removed by ``dockyard gc --upload-expiry``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.gc.helpers import run_gc, upload_files
from tests.support.ecr import expect_error
from tests.support.images import sha256_digest
from tests.support.lifecycle import oci_error

CHUNK = b"abandoned upload bytes " * 2000


def start_chunked(v2: httpx.Client, repo: str) -> str:
    started = v2.post(f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    patched = v2.patch(
        location,
        content=CHUNK,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"0-{len(CHUNK) - 1}",
        },
    )
    assert patched.status_code == 202, patched.text
    return str(patched.headers["Location"])


def test_idle_upload_sessions_expire(ecr: Any, v2: httpx.Client, data_dir: Path) -> None:
    ecr.create_repository(repositoryName="gc/uploads")
    location = start_chunked(v2, "gc/uploads")
    upload_id = location.rstrip("/").split("?")[0].rsplit("/", 1)[-1]
    layer_upload = ecr.initiate_layer_upload(repositoryName="gc/uploads")["uploadId"]
    ecr.upload_layer_part(
        repositoryName="gc/uploads",
        uploadId=layer_upload,
        partFirstByte=0,
        partLastByte=len(CHUNK) - 1,
        layerPartBlob=CHUNK,
    )
    files = upload_files(data_dir)
    assert files.get(upload_id) == len(CHUNK), files
    assert len(files) == 2, files

    # Young sessions survive a pass with the default expiry (24 h).
    assert run_gc(data_dir).uploads == 0
    status = v2.get(location)
    assert status.status_code == 204 and status.headers["Range"] == f"0-{len(CHUNK) - 1}"

    dry = run_gc(data_dir, "--upload-expiry", "0s", "--dry-run")
    assert dry.uploads == 2
    assert upload_files(data_dir) == files
    report = run_gc(data_dir, "--upload-expiry", "0s")
    assert report.uploads == 2
    assert upload_files(data_dir) == {}, "the sessions' bytes are still on disk"

    gone = v2.get(location)
    assert gone.status_code == 404 and oci_error(gone) == "BLOB_UPLOAD_UNKNOWN", gone.text
    more = v2.patch(
        location,
        content=CHUNK,
        headers={"Content-Type": "application/octet-stream", "Content-Range": "0-1"},
    )
    assert more.status_code == 404 and oci_error(more) == "BLOB_UPLOAD_UNKNOWN", more.text
    finish = v2.put(location, params={"digest": sha256_digest(CHUNK)})
    assert finish.status_code == 404 and oci_error(finish) == "BLOB_UPLOAD_UNKNOWN", finish.text
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName="gc/uploads",
        uploadId=layer_upload,
        partFirstByte=len(CHUNK),
        partLastByte=len(CHUNK) + 9,
        layerPartBlob=b"0123456789",
    )
    # Nothing was committed from them.
    assert v2.head(f"/v2/gc/uploads/blobs/{sha256_digest(CHUNK)}").status_code == 404
