"""uvicorn's HTTP/1.1 protocol with bounds on request headers: how long, and how large.

uvicorn closes a connection idle *between* requests (``timeout_keep_alive``), but waits
forever for the first request on a new connection and for headers that trickle in, and it
buffers headers of any size: a few sockets can hold the server's connections, or its
memory, without ever authenticating. Each connection here must deliver a request's headers
within ``header_timeout`` of connecting (or of that request's first byte, on a kept-alive
connection), in at most ``MAX_HEADER_BYTES``.

Over TLS, closing a connection sends close_notify and then waits for the peer's, up to 30
seconds (uvloop's and asyncio's default), which a client keeping the connection in an idle
pool never sends: every such connection would hold a graceful shutdown (and a worker's
drain) for that long. A TLS connection the server closes is dropped after
``TLS_CLOSE_GRACE`` seconds instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from dockyard.cli.pathsend import EXTENSION, can_send_files, send_path

log = logging.getLogger(__name__)

# Real requests send a few kilobytes of headers (a registry password or a SigV4
# Authorization header is well under one); 64 KiB leaves room for any of them.
MAX_HEADER_BYTES = 64 << 10

# Long enough for a peer that reads to answer close_notify, short against a drain.
TLS_CLOSE_GRACE = 2.0

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 31\r\n"
    b"connection: close\r\n\r\nrequest headers are too large\r\n"
)


class _HeaderGuardProtocol(HttpToolsProtocol):
    header_timeout: float = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _awaiting_headers = False  # the header deadline runs
    _in_head = True  # arriving bytes are a request's head (counted against the size limit)
    _header_bytes = 0
    _tail = b""  # the last bytes of the head so far, for a blank line across reads
    _tls = False
    _drop: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._tls = transport.get_extra_info("sslcontext") is not None
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        if self._drop is not None:
            self._drop.cancel()
        super().connection_lost(exc)

    # uvicorn's ways of closing a connection; each may leave a TLS one waiting on its peer.
    def shutdown(self) -> None:
        super().shutdown()
        self._bound_close()

    def timeout_keep_alive_handler(self) -> None:
        super().timeout_keep_alive_handler()
        self._bound_close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._bound_close()

    def _bound_close(self) -> None:
        if self._tls and self._drop is None and self.transport.is_closing():
            self._drop = self.loop.call_later(TLS_CLOSE_GRACE, self.transport.abort)

    def data_received(self, data: bytes) -> None:
        # Counted before parsing: a head that arrives in one read (up to 256 KiB) would be
        # parsed, and answered, whole.
        if self._in_head and self._head_too_large(data):
            log.info("%s: request headers over %d bytes; closed", self._peer(), MAX_HEADER_BYTES)
            self._stop_waiting()
            self._in_head = False
            self.transport.write(_TOO_LARGE)
            self.transport.close()
            self._bound_close()
            return
        super().data_received(data)

    def _head_too_large(self, data: bytes) -> bool:
        """Count what of ``data`` belongs to the request head being received: up to its
        blank line, which may straddle two reads."""
        joined = self._tail + data[:3]
        at = joined.find(b"\r\n\r\n")
        if at >= 0:
            used = at + 4 - len(self._tail)
        else:
            at = data.find(b"\r\n\r\n")
            used = at + 4 if at >= 0 else -1
        if used < 0:
            self._header_bytes += len(data)
            self._tail = (self._tail + data[-3:])[-3:]
        else:
            self._header_bytes += used
            self._in_head = False  # what follows is a body, or requests already buffered
        return self._header_bytes > MAX_HEADER_BYTES

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What the connection sends next is the next request's head.
        self._in_head, self._header_bytes, self._tail = True, 0, b""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._awaiting_headers:  # a later request on a kept-alive connection
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        self._in_head = False
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        # The app's task has been created but not yet run, so it still sees the extension.
        if cycle is not None and cycle is not before and can_send_files(self.transport, cycle):
            cycle.scope.setdefault("extensions", {})[EXTENSION] = {}
            cycle.send = _with_pathsend(cycle)  # type: ignore[method-assign, assignment]

    def _await_headers(self) -> None:
        self._awaiting_headers = True
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _stop_waiting(self) -> None:
        self._awaiting_headers = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        log.debug(
            "%s: no complete request headers in %gs; closed", self._peer(), self.header_timeout
        )
        if self.cycle is not None and not self.cycle.response_complete:
            # Headers trickling in behind a request still being answered (pipelining):
            # finish that answer, then close.
            self.cycle.keep_alive = False
        elif not self.transport.is_closing():
            self.transport.close()
            self._bound_close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"


def _with_pathsend(cycle: RequestResponseCycle) -> Callable[[Any], Awaitable[None]]:
    plain = cycle.send

    async def send(message: Any) -> None:
        if message["type"] == EXTENSION and cycle.response_started:
            await send_path(cycle, message["path"])
        else:
            await plain(message)

    return send


def http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    return type("HeaderGuardProtocol", (_HeaderGuardProtocol,), {"header_timeout": header_timeout})
