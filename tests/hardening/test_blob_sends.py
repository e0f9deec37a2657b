"""Blob bodies leave the server by ``sendfile(2)`` (``cli/pathsend.py``) rather than through
Python: what the client receives must still be exactly the blob, framed so the connection
stays usable, whether it reads fast, slowly, or goes away half-way."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from typing import Any

import httpx

from tests.hardening.conftest import ServerLog
from tests.hardening.rawhttp import connection, request_head
from tests.support.auth import basic
from tests.support.ecr import login_password
from tests.support.servers import DockyardProcess

MiB = 1 << 20


def _push(v2: httpx.Client, repo: str, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    pushed = v2.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=blob)
    assert pushed.status_code == 201, pushed.text
    return digest


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers of one response, and whatever body bytes came with them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(head)


def test_large_blob_arrives_whole_and_the_connection_stays_usable(
    v2: httpx.Client, repo: str
) -> None:
    blob = os.urandom(48 * MiB + 12345)
    small = os.urandom(1000)
    digest, small_digest = _push(v2, repo, blob), _push(v2, repo, small)
    hasher, received = hashlib.sha256(), 0
    with v2.stream("GET", f"/v2/{repo}/blobs/{digest}") as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(blob)
        for chunk in response.iter_raw():
            hasher.update(chunk)
            received += len(chunk)
    assert received == len(blob)
    assert "sha256:" + hasher.hexdigest() == digest
    # The same keep-alive connection: the next response starts exactly where the body ended.
    again = v2.get(f"/v2/{repo}/blobs/{small_digest}")
    assert again.status_code == 200 and again.content == small


def test_a_slow_reader_gets_every_byte_then_a_second_response(
    server: DockyardProcess, ecr: Any, v2: httpx.Client, repo: str
) -> None:
    blob = os.urandom(8 * MiB + 7)
    small = os.urandom(513)
    digest, small_digest = _push(v2, repo, blob), _push(v2, repo, small)
    auth = basic(login_password(ecr))
    with connection(server, timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.sendall(request_head("GET", f"/v2/{repo}/blobs/{digest}", auth))
        head, body = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
        length = _content_length(head)
        assert length == len(blob)
        hasher = hashlib.sha256(body)
        received = len(body)
        while received < length:
            # Slowly at first, so the server's socket fills and it must wait to send more.
            if received < MiB:
                time.sleep(0.01)
            chunk = sock.recv(min(65536, length - received))
            assert chunk, f"connection closed after {received} of {length} bytes"
            hasher.update(chunk)
            received += len(chunk)
        assert "sha256:" + hasher.hexdigest() == digest
        sock.sendall(request_head("GET", f"/v2/{repo}/blobs/{small_digest}", auth))
        head, body = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
        while len(body) < len(small):
            body += sock.recv(65536)
        assert body == small


def test_a_reader_that_leaves_mid_blob_leaves_the_server_well(
    server: DockyardProcess, ecr: Any, v2: httpx.Client, repo: str
) -> None:
    blob = os.urandom(32 * MiB)
    digest = _push(v2, repo, blob)
    auth = basic(login_password(ecr))
    log = ServerLog(server)
    for _ in range(3):
        with connection(server) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            sock.sendall(request_head("GET", f"/v2/{repo}/blobs/{digest}", auth))
            head, _ = _read_head(sock)
            assert head.startswith(b"HTTP/1.1 200"), head
            sock.recv(65536)
    time.sleep(0.5)
    text = log.text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]
    whole = v2.get(f"/v2/{repo}/blobs/{digest}")
    assert whole.status_code == 200 and whole.content == blob


def test_ranges_and_heads_still_answer_exactly(v2: httpx.Client, repo: str) -> None:
    blob = os.urandom(3 * MiB + 1)
    digest = _push(v2, repo, blob)
    part = v2.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": f"bytes={MiB}-{2 * MiB}"})
    assert part.status_code == 206, part.headers
    assert part.content == blob[MiB : 2 * MiB + 1]
    head = v2.head(f"/v2/{repo}/blobs/{digest}")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(blob)
    assert head.content == b""
