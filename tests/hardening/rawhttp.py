"""HTTP/1.1 over a bare socket, for what no client library sends: bodies that stall, stop
half-way or never come, headers that trickle in or never end."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."
REGION = "us-east-1"


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def connect(server: DockyardProcess, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return sock


@contextlib.contextmanager
def connection(server: DockyardProcess, timeout: float = 10) -> Iterator[socket.socket]:
    sock = connect(server, timeout)
    try:
        yield sock
    finally:
        sock.close()


def request_head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    """The request line and headers, ready to send (a Host header is added if missing)."""
    lines = [f"{method} {target} HTTP/1.1"]
    if not any(name.lower() == "host" for name in headers):
        lines.append("Host: 127.0.0.1")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_quietly(sock: socket.socket, data: bytes) -> bool:
    """Send ``data``; False if the server has already closed the connection."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def read_response(sock: socket.socket, timeout: float = 10) -> RawResponse:
    """One response (Content-Length framed, as Dockyard's are), read within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response; got {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(status_line.split()[1]), headers, body[:length])


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (ignoring any answer it sent first),
    or None if it was still open after ``seconds``."""
    start = time.monotonic()
    while True:
        left = seconds - (time.monotonic() - start)
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except TimeoutError:
            return None
        except ConnectionResetError:
            return time.monotonic() - start


def ecr_headers(
    server: DockyardProcess,
    operation: str,
    body: bytes,
    key: tuple[str, str] = (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
) -> dict[str, str]:
    """Headers of a genuine, SigV4-signed ECR request carrying ``body``, as botocore signs it."""
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": ECR_TARGET + operation,
        },
    )
    SigV4Auth(Credentials(*key), "ecr", REGION).add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = server.host
    headers["Content-Length"] = str(len(body))
    return headers
