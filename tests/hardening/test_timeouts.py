"""Connections that say nothing, or too little too slowly, are closed: before the headers
(``header_timeout``), between pieces of a body (``body_timeout``), between requests
(``keep_alive_timeout``); and headers without end are refused. An upload cut off this way
can be resumed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from dockyard.config import ConfigError, load_settings
from tests.hardening.conftest import KEEP_ALIVE, TIMEOUT, ServerLog
from tests.hardening.rawhttp import (
    closed_within,
    connection,
    ecr_headers,
    read_response,
    request_head,
    send_quietly,
)
from tests.support.auth import basic
from tests.support.ecr import login_password
from tests.support.images import OCI_MANIFEST, add_query
from tests.support.servers import DockyardProcess

SLACK = 2.0  # seconds a busy test machine may add to a timeout


def assert_quiet(log: ServerLog) -> None:
    text = log.text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]


def test_a_connection_that_sends_nothing_is_closed(server: DockyardProcess) -> None:
    with connection(server) as sock:
        waited = closed_within(sock, TIMEOUT + SLACK)
    assert waited is not None, "an idle connection stayed open"
    assert waited >= TIMEOUT * 0.8


def test_headers_that_trickle_are_cut_off(server: DockyardProcess, log: ServerLog) -> None:
    with connection(server) as sock:
        assert send_quietly(sock, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < TIMEOUT + SLACK:
            if not send_quietly(sock, b"a"):
                break
            closed = closed_within(sock, 0.2) is not None
        took = time.monotonic() - started
    assert took < TIMEOUT + SLACK, "trickling headers kept the connection open"
    assert_quiet(log)


def test_endless_headers_are_refused(server: DockyardProcess) -> None:
    with connection(server) as sock:
        send_quietly(sock, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(32):  # 2 MiB of headers, never ended
            if not send_quietly(sock, b"X-Filler: " + b"a" * 65536 + b"\r\n"):
                break
        answer = read_response(sock, timeout=5)
    assert answer.status == 431


def _padded_describe(server: DockyardProcess) -> tuple[bytes, bytes]:
    """(head, body) of a signed DescribeRepositories whose body is nearly a megabyte."""
    body = b'{"maxResults": 5' + b" " * 900_000 + b"}"
    headers = ecr_headers(server, "DescribeRepositories", body)
    return request_head("POST", "/", headers), body


def test_a_head_too_large_in_one_write_is_refused(server: DockyardProcess) -> None:
    head = request_head("GET", "/v2/", {"X-Filler": "a" * 100_000})
    with connection(server) as sock:
        send_quietly(sock, head)
        assert read_response(sock).status == 431


def test_a_body_is_never_counted_as_its_head(server: DockyardProcess) -> None:
    head, body = _padded_describe(server)
    with connection(server) as sock:  # the head and the body in one write
        assert send_quietly(sock, head + body)
        assert read_response(sock).status == 200
    with connection(server) as sock:  # the head's blank line split across two writes
        assert send_quietly(sock, head[:-1])
        time.sleep(0.2)
        assert send_quietly(sock, head[-1:] + body)
        assert read_response(sock).status == 200


def test_the_next_head_on_a_kept_alive_connection_is_counted(server: DockyardProcess) -> None:
    head, body = _padded_describe(server)
    with connection(server) as sock:
        assert send_quietly(sock, head + body)
        assert read_response(sock).status == 200
        send_quietly(sock, request_head("GET", "/v2/", {"X-Filler": "a" * 100_000}))
        assert read_response(sock).status == 431


def test_an_idle_kept_alive_connection_is_closed(server: DockyardProcess) -> None:
    with connection(server) as sock:
        assert send_quietly(sock, request_head("GET", "/v2/", {}))
        assert read_response(sock).status == 401
        waited = closed_within(sock, KEEP_ALIVE + SLACK)
    assert waited is not None, "an idle kept-alive connection stayed open"
    assert waited >= KEEP_ALIVE * 0.8


def _start_upload(v2: httpx.Client, repo: str, first: bytes) -> str:
    started = v2.post(f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    patched = v2.patch(
        started.headers["Location"],
        content=first,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert patched.status_code == 202, patched.text
    location: str = patched.headers["Location"]
    return location


def test_a_stalled_upload_is_408_and_resumable(
    server: DockyardProcess, ecr: Any, v2: httpx.Client, repo: str, log: ServerLog
) -> None:
    blob = bytes(range(256)) * 4096  # 1 MiB
    location = _start_upload(v2, repo, blob[:1000])
    headers = {
        **basic(login_password(ecr)),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(blob) - 1000),
        "Content-Range": f"1000-{len(blob) - 1}",
    }
    with connection(server) as sock:
        assert send_quietly(sock, request_head("PATCH", location, headers))
        assert send_quietly(sock, blob[1000:50_000])
        started = time.monotonic()
        answer = read_response(sock, timeout=TIMEOUT + SLACK)
        assert time.monotonic() - started >= TIMEOUT * 0.8
        assert closed_within(sock, SLACK) is not None
    assert answer.status == 408, answer
    assert answer.headers.get("connection") == "close"
    assert json.loads(answer.body)["errors"][0]["message"].startswith("request body timed out")
    # The session still holds what it held, and takes the rest.
    status = v2.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-999"
    rest = v2.patch(
        location,
        content=blob[1000:],
        headers={"Content-Range": f"1000-{len(blob) - 1}"},
    )
    assert rest.status_code == 202, rest.text
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    done = v2.put(add_query(rest.headers["Location"], digest=digest))
    assert done.status_code == 201, done.text
    assert v2.get(f"/v2/{repo}/blobs/{digest}").content == blob
    lines = [line for line in log.lines() if "timed out" in line or "no request body" in line]
    assert len(lines) == 1, log.text()
    assert_quiet(log)


def test_a_stalled_manifest_put_is_408(
    server: DockyardProcess, ecr: Any, repo: str, log: ServerLog
) -> None:
    headers = {
        **basic(login_password(ecr)),
        "Content-Type": OCI_MANIFEST,
        "Content-Length": "1000",
    }
    with connection(server) as sock:
        assert send_quietly(sock, request_head("PUT", f"/v2/{repo}/manifests/v1", headers))
        assert send_quietly(sock, b'{"schemaVersion":2,')
        answer = read_response(sock, timeout=TIMEOUT + SLACK)
    assert answer.status == 408, answer
    assert_quiet(log)


def test_a_stalled_ecr_body_is_408(server: DockyardProcess, repo: str, log: ServerLog) -> None:
    body = json.dumps({"repositoryName": repo, "imageManifest": "x" * 10_000}).encode()
    with connection(server) as sock:
        assert send_quietly(sock, request_head("POST", "/", ecr_headers(server, "PutImage", body)))
        assert send_quietly(sock, body[:5000])
        answer = read_response(sock, timeout=TIMEOUT + SLACK)
    assert answer.status == 408, answer
    assert json.loads(answer.body)["__type"] == "RequestTimeoutException"
    assert_quiet(log)


def test_the_timeouts_are_settings() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "dockyard", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
        assert f"DOCKYARD_{name.upper()}" in help_text
    defaults = load_settings(environ={})
    assert defaults.header_timeout.total_seconds() == 30
    assert defaults.body_timeout.total_seconds() == 60
    assert defaults.keep_alive_timeout.total_seconds() == 5
    assert load_settings(environ={"DOCKYARD_BODY_TIMEOUT": "2m"}).body_timeout.seconds == 120
    with pytest.raises(ConfigError):
        load_settings(environ={"DOCKYARD_HEADER_TIMEOUT": "0"})
