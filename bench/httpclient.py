"""A small HTTP/1.1 keep-alive client on raw asyncio streams.

The benchmark needs a client that costs as little CPU as possible, because the client and
the server share the machine's two cores. httpx spends several times more CPU per request
than this, which at concurrency 32 would make the client the bottleneck for both servers and
squash every ratio towards 1. This client does only what a registry benchmark needs:
persistent connections, Content-Length and chunked response bodies, streamed request
bodies, and a per-request time limit; and, for large blob GETs, `get_into` (a socket of its
own, the body received straight into one buffer). Both servers are driven by this same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

Buffer = bytes | bytearray | memoryview

_READ_LIMIT = 4 << 20  # StreamReader buffer; also the largest header block we accept
_STREAM_CHUNK = 1 << 20


class HTTPError(Exception):
    """A transport or protocol failure (not an HTTP error status)."""


class StatusError(Exception):
    """An unexpected HTTP status; carries enough of the response to diagnose it."""

    def __init__(self, what: str, resp: Response, expected: Iterable[int]) -> None:
        body = resp.body[:600].decode("utf-8", "replace")
        super().__init__(
            f"{what}: HTTP {resp.status} (expected {'/'.join(map(str, expected))}) body={body!r}"
        )
        self.response = resp


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class _Head:
    status: int
    headers: dict[str, str]
    keep_alive: bool


def target_of(url: str) -> str:
    """Turn a Location/Link URL (absolute or relative) into a request target."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def add_query(target: str, key: str, value: str) -> str:
    """Append a query parameter without disturbing existing ones (e.g. distribution's _state)."""
    sep = "&" if "?" in target else "?"
    return f"{target}{sep}{key}={value}"


def _parse_head(raw: bytes) -> _Head:
    text = raw.decode("latin-1")
    status_line, _, rest = text.partition("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HTTPError(f"bad status line {status_line!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in rest.split("\r\n"):
        if not line:
            continue
        k, _, v = line.partition(":")
        key = k.strip().lower()
        val = v.strip()
        headers[key] = f"{headers[key]}, {val}" if key in headers else val
    conn_hdr = headers.get("connection", "").lower()
    keep_alive = parts[0] == "HTTP/1.1" and "close" not in conn_hdr
    return _Head(status, headers, keep_alive)


def _body_kind(method: str, head: _Head) -> tuple[str, int]:
    if method == "HEAD" or head.status in (204, 304):
        return ("none", 0)
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return ("chunked", -1)
    cl = head.headers.get("content-length")
    if cl is not None:
        return ("length", int(cl))
    return ("eof", -1)


class _Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host  # the Host header: where this connection goes
        self.usable = True

    def close(self) -> None:
        self.usable = False
        with contextlib.suppress(Exception):
            self.writer.close()

    async def send(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None,
        body: Buffer | Iterable[Buffer] | None,
        content_length: int | None,
    ) -> None:
        lines = [
            f"{method} {target} HTTP/1.1", f"Host: {self.host}", "User-Agent: dockyard-bench"
        ]  # fmt: skip
        if headers:
            lines.extend(f"{k}: {v}" for k, v in headers.items())
        if isinstance(body, bytes | bytearray | memoryview):
            content_length = len(body)
        if content_length is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {content_length or 0}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        w = self.writer
        try:
            if isinstance(body, bytes | bytearray | memoryview):
                w.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    w.write(body)
                await w.drain()
            elif body is None:
                w.write(head)
                await w.drain()
            else:
                w.write(head)
                sent = 0
                for piece in body:
                    w.write(piece)
                    sent += len(piece)
                    await w.drain()
                if content_length is not None and sent != content_length:
                    raise HTTPError(f"body produced {sent} bytes, declared {content_length}")
        except (ConnectionError, OSError) as exc:
            # The server may have answered early (e.g. an error) and closed; the caller reads
            # the response, if any, to report what the server said.
            self.usable = False
            raise _SendFailed(exc) from exc

    async def read_head(self, method: str) -> _Head:
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HTTPError(
                f"connection closed before response head ({len(exc.partial)} bytes)"
            ) from exc
        except asyncio.LimitOverrunError as exc:
            raise HTTPError("response head too large") from exc
        head = _parse_head(raw)
        if head.status < 200:  # 100 Continue and friends: skip to the real response
            return await self.read_head(method)
        return head

    async def iter_body(self, method: str, head: _Head) -> AsyncIterator[bytes]:
        kind, n = _body_kind(method, head)
        r = self.reader
        if kind == "length":
            remaining = n
            while remaining > 0:
                data = await r.read(min(remaining, _STREAM_CHUNK))
                if not data:
                    raise HTTPError(f"connection closed with {remaining} body bytes missing")
                remaining -= len(data)
                yield data
        elif kind == "chunked":
            while True:
                size_line = await r.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await r.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    break
                remaining = size
                while remaining > 0:
                    data = await r.read(min(remaining, _STREAM_CHUNK))
                    if not data:
                        raise HTTPError("connection closed inside a chunk")
                    remaining -= len(data)
                    yield data
                await r.readexactly(2)
        elif kind == "eof":
            self.usable = False
            while data := await r.read(_STREAM_CHUNK):
                yield data
        if not head.keep_alive:
            self.usable = False

    async def read_body(self, method: str, head: _Head) -> bytes:
        kind, n = _body_kind(method, head)
        if kind == "none":
            if not head.keep_alive:
                self.usable = False
            return b""
        if kind == "length":
            data = await self.reader.readexactly(n) if n else b""
            if not head.keep_alive:
                self.usable = False
            return data
        return b"".join([c async for c in self.iter_body(method, head)])


class _SendFailed(Exception):
    pass


@dataclass
class ClientStats:
    connects: int = 0
    requests: int = 0
    reconnects_on_stale: int = 0
    per_status: dict[int, int] = field(default_factory=dict)


class HTTPClient:
    """A pool of keep-alive HTTP/1.1 connections to one host:port, or spread over several
    ports in turn (the nodes of one registry: any of them serves any request)."""

    def __init__(
        self, host: str, port: int | Sequence[int], pool_size: int, time_limit: float = 120.0
    ) -> None:
        self.host = host
        self.ports = [port] if isinstance(port, int) else list(port)
        self.port = self.ports[0]
        self._next_port = itertools.cycle(self.ports)
        self.pool_size = pool_size
        self.time_limit = time_limit
        self._idle: list[_Connection] = []
        self._sem = asyncio.Semaphore(pool_size)
        self.stats = ClientStats()

    async def __aenter__(self) -> HTTPClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for c in idle:
            c.close()
        for c in idle:
            with contextlib.suppress(Exception):
                await c.writer.wait_closed()

    def next_port(self) -> int:
        """The port the next new connection goes to (the nodes take turns)."""
        return next(self._next_port)

    async def _connect(self) -> _Connection:
        port = self.next_port()
        reader, writer = await asyncio.open_connection(self.host, port, limit=_READ_LIMIT)
        self.stats.connects += 1
        return _Connection(reader, writer, f"{self.host}:{port}")

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            c = self._idle.pop()
            if c.usable and not c.reader.at_eof():
                return c
            c.close()
        return None

    def _give_back(self, c: _Connection) -> None:
        if c.usable:
            self._idle.append(c)
        else:
            c.close()

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: Buffer | Iterable[Buffer] | None = None,
        content_length: int | None = None,
        time_limit: float | None = None,
    ) -> Response:
        """Send one request and read the whole response body."""
        async with self._sem, asyncio.timeout(time_limit or self.time_limit):
            conn, head = await self._exchange(method, target, headers, body, content_length)
            try:
                data = await conn.read_body(method, head)
            except BaseException:
                conn.close()
                raise
            self._give_back(conn)
            return Response(head.status, head.headers, data)

    async def _exchange(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None,
        body: Buffer | Iterable[Buffer] | None,
        content_length: int | None,
    ) -> tuple[_Connection, _Head]:
        self.stats.requests += 1
        reusable_body = body is None or isinstance(body, bytes | bytearray | memoryview)
        conn = self._take_idle()
        fresh = conn is None
        if conn is None:
            conn = await self._connect()
        try:
            try:
                await conn.send(method, target, headers, body, content_length)
            except _SendFailed as exc:
                if not fresh and reusable_body:
                    raise _Stale from exc
                # Report what the server said, if it said anything before closing.
                try:
                    head = await conn.read_head(method)
                except Exception:
                    raise HTTPError(f"{method} {target}: send failed: {exc.__cause__!r}") from exc
                conn.usable = False
                return conn, head
            try:
                head = await conn.read_head(method)
            except HTTPError:
                if not fresh and reusable_body:
                    raise _Stale from None
                raise
        except _Stale:
            # A pooled keep-alive connection the server had already closed: retry once on a
            # new connection (only for requests whose body can be resent).
            conn.close()
            self.stats.reconnects_on_stale += 1
            conn = await self._connect()
            try:
                await conn.send(method, target, headers, body, content_length)
                head = await conn.read_head(method)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        self.stats.per_status[head.status] = self.stats.per_status.get(head.status, 0) + 1
        return conn, head


def get_into(
    host: str,
    port: int,
    target: str,
    sink_for: Callable[[Response], Callable[[memoryview], None]],
    time_limit: float,
    buffer_size: int = 1 << 20,
) -> Response:
    """GET on a blocking socket of its own. `sink_for(response)` is called once the head is
    read; what it returns gets the body a buffer at a time (a view valid only during the
    call). The returned Response has no body.

    For a large blob on a machine the server shares: the kernel copies each byte once, into
    this buffer, where the stream reader above copies it twice more. Run it in a thread.
    """
    deadline = time.monotonic() + time_limit
    buf = bytearray(buffer_size)
    view = memoryview(buf)
    with socket.create_connection((host, port), timeout=time_limit) as sock:
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: dockyard-bench\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(request.encode("latin-1"))

        def recv(into: memoryview) -> int:
            sock.settimeout(max(0.0, deadline - time.monotonic()) or 1e-6)
            try:
                return sock.recv_into(into)
            except TimeoutError:
                raise HTTPError(f"GET {target}: no answer within {time_limit} s") from None

        have = 0
        while True:
            end = buf.find(b"\r\n\r\n", 0, have)
            if end >= 0:
                head = _parse_head(bytes(buf[: end + 4]))
                buf[: have - end - 4] = buf[end + 4 : have]  # what followed the head
                have -= end + 4
                if head.status >= 200:
                    break
                continue
            if have == len(buf):
                raise HTTPError("response head too large")
            n = recv(view[have:])
            if not n:
                raise HTTPError(f"connection closed before response head ({have} bytes)")
            have += n
        kind, remaining = _body_kind("GET", head)
        if kind == "chunked":
            raise HTTPError("get_into reads Content-Length or until-close bodies, not chunked")
        resp = Response(head.status, head.headers)
        if kind == "none":
            return resp
        sink = sink_for(resp)
        while True:
            if kind == "length":
                have = min(have, remaining)
            if have:
                sink(view[:have])
                remaining -= have
            if kind == "length" and remaining <= 0:
                break
            have = recv(view if kind != "length" else view[: min(len(view), remaining)])
            if not have:
                if kind == "length":
                    raise HTTPError(f"connection closed with {remaining} body bytes missing")
                break
    return resp


class _Stale(Exception):
    pass


def now() -> float:
    return time.perf_counter()
