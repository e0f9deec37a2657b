"""A client that goes away in the middle of a body is ordinary: the server logs one line at
info, no traceback, and an upload session it was writing stays usable."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.hardening.conftest import ServerLog
from tests.hardening.rawhttp import connection, ecr_headers, request_head, send_quietly
from tests.support.auth import basic
from tests.support.ecr import login_password
from tests.support.images import OCI_MANIFEST, add_query
from tests.support.servers import DockyardProcess

MiB = 1 << 20
BLOB = bytes(range(256)) * 4096  # 1 MiB
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


def _wait_for_lines(log: ServerLog, needle: str, seconds: float = 5) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        found = [line for line in log.lines() if needle in line]
        if found or time.monotonic() > deadline:
            time.sleep(0.3)  # and anything logged just after it
            return [line for line in log.lines() if needle in line]
        time.sleep(0.05)


def _leave_mid_body(
    server: DockyardProcess, method: str, target: str, headers: dict[str, str]
) -> ServerLog:
    """Send the headers of a 1 MiB body, a fifth of the body, and close the connection;
    the server's log from just before."""
    log = ServerLog(server)
    with connection(server) as sock:
        assert send_quietly(sock, request_head(method, target, headers))
        assert send_quietly(sock, BLOB[: len(BLOB) // 5])
        time.sleep(0.2)  # let the server start on the body before we go
    return log


def _assert_one_quiet_line(log: ServerLog, needle: str) -> None:
    lines = _wait_for_lines(log, needle)
    assert len(lines) == 1, log.text()
    assert lines[0].startswith("INFO"), lines
    text = log.text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]
    assert len(log.lines()) == 1, text  # (a request nobody answered is not access-logged)


def _upload_at_1000(v2: httpx.Client, repo: str) -> str:
    started = v2.post(f"/v2/{repo}/blobs/uploads/")
    patched = v2.patch(started.headers["Location"], content=BLOB[:1000])
    assert patched.status_code == 202, patched.text
    location: str = patched.headers["Location"]
    return location


def _finish_upload(v2: httpx.Client, repo: str, location: str) -> None:
    status = v2.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-999", status.headers
    rest = v2.patch(location, content=BLOB[1000:], headers={"Content-Range": f"1000-{MiB - 1}"})
    assert rest.status_code == 202, rest.text
    done = v2.put(add_query(rest.headers["Location"], digest=DIGEST))
    assert done.status_code == 201, done.text
    assert v2.get(f"/v2/{repo}/blobs/{DIGEST}").content == BLOB


# Each leaves one kind of /v2 request mid-body: (the upload session to finish, if any; the
# server's log from just before it left).
Left = tuple[str | None, ServerLog]


def _patch(server: DockyardProcess, v2: httpx.Client, repo: str, auth: dict[str, str]) -> Left:
    location = _upload_at_1000(v2, repo)
    headers = {**auth, "Content-Length": str(MiB - 1000), "Content-Range": f"1000-{MiB - 1}"}
    return location, _leave_mid_body(server, "PATCH", location, headers)


def _put(server: DockyardProcess, v2: httpx.Client, repo: str, auth: dict[str, str]) -> Left:
    location = _upload_at_1000(v2, repo)
    headers = {**auth, "Content-Length": str(MiB - 1000)}
    return location, _leave_mid_body(server, "PUT", add_query(location, digest=DIGEST), headers)


def _post(server: DockyardProcess, v2: httpx.Client, repo: str, auth: dict[str, str]) -> Left:
    target = f"/v2/{repo}/blobs/uploads/?digest={DIGEST}"
    return None, _leave_mid_body(server, "POST", target, {**auth, "Content-Length": str(MiB)})


def _manifest(server: DockyardProcess, v2: httpx.Client, repo: str, auth: dict[str, str]) -> Left:
    headers = {**auth, "Content-Length": str(MiB), "Content-Type": OCI_MANIFEST}
    return None, _leave_mid_body(server, "PUT", f"/v2/{repo}/manifests/v1", headers)


@pytest.mark.parametrize("leave", [_patch, _put, _post, _manifest], ids=lambda f: f.__name__[1:])
def test_v2_body_disconnect_is_one_info_line(
    server: DockyardProcess,
    ecr: Any,
    v2: httpx.Client,
    repo: str,
    leave: Callable[..., Left],
) -> None:
    location, log = leave(server, v2, repo, basic(login_password(ecr)))
    _assert_one_quiet_line(log, "before the request body ended")
    if location is not None:
        _finish_upload(v2, repo, location)


def test_ecr_body_disconnect_is_one_info_line(server: DockyardProcess, repo: str) -> None:
    body = json.dumps({"repositoryName": repo, "imageManifest": "x" * MiB}).encode()
    headers = ecr_headers(server, "PutImage", body)
    log = ServerLog(server)
    with connection(server) as sock:
        assert send_quietly(sock, request_head("POST", "/", headers))
        assert send_quietly(sock, body[: len(body) // 5])
        time.sleep(0.2)
    _assert_one_quiet_line(log, "before the body ended")
