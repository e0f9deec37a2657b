"""ASGI's ``http.response.pathsend`` for uvicorn: a blob's bytes go from the page cache to the
socket with ``sendfile(2)``, never through Python.

uvicorn does not implement the extension and uvloop has no ``loop.sendfile``, so the
protocol (``connections.py``) advertises it and hands such a message here. Starlette's
``FileResponse`` sends it instead of reading the file in chunks when advertised. The socket
is driven through a duplicate of its descriptor: the event loop keeps owning the original
(uvloop refuses a writer callback on a descriptor one of its transports holds), while the
duplicate shares its non-blocking file description, so ``sendfile`` never blocks the loop
on the network; the disk side runs in a thread, since a blob not in the page cache would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

EXTENSION = "http.response.pathsend"

# Up to this much per sendfile call (one thread hop each); the socket's buffer takes less.
_MOST_PER_CALL = 8 << 20


# What send_path uses of uvicorn's (internal) response cycle: should a uvicorn release rename
# any, blobs go back to being sent by Starlette in chunks instead of failing.
_CYCLE_PARTS = ("transport", "flow", "expected_content_length", "response_started", "disconnected")


def can_send_files(transport: asyncio.Transport, cycle: RequestResponseCycle) -> bool:
    """Plain TCP only (a TLS transport must see every byte), on a cycle shaped as expected."""
    return (
        transport.get_extra_info("sslcontext") is None
        and transport.get_extra_info("socket") is not None
        and all(hasattr(cycle, part) for part in _CYCLE_PARTS)
    )


async def send_path(cycle: RequestResponseCycle, path: str) -> None:
    """Send the body named by a ``pathsend`` message, then complete the response as an empty
    last body message would."""
    transport: asyncio.Transport = cycle.transport
    length = cycle.expected_content_length
    if length and not cycle.disconnected:
        try:
            await _drained(cycle)
            await _sendfile(transport, path, length)
        except OSError:
            # The client went away (or the file did): nothing more can be said on this
            # connection, and a short body must not look complete.
            cycle.disconnected = True
            transport.close()
            return
        cycle.expected_content_length = 0
    await RequestResponseCycle.send(cycle, {"type": "http.response.body", "body": b""})


async def _drained(cycle: RequestResponseCycle) -> None:
    """Wait until the transport's own buffer (the status line and headers) is on the wire, so
    the file's bytes cannot overtake it."""
    transport: Any = cycle.transport
    if not transport.get_write_buffer_size():
        return
    high, low = transport.get_write_buffer_limits()
    try:
        transport.set_write_buffer_limits(high=0, low=0)
        await cycle.flow.drain()
    finally:
        transport.set_write_buffer_limits(high=high, low=low)


async def _sendfile(transport: asyncio.Transport, path: str, length: int) -> None:
    loop = asyncio.get_running_loop()
    file = await asyncio.to_thread(os.open, path, os.O_RDONLY)
    sock = os.dup(transport.get_extra_info("socket").fileno())
    try:
        offset = 0
        while offset < length:
            count = min(length - offset, _MOST_PER_CALL)
            try:
                sent = await asyncio.to_thread(os.sendfile, sock, file, offset, count)
            except BlockingIOError:
                await _writable(loop, sock)
                continue
            if not sent:
                raise OSError(f"{path} ended {length - offset} bytes early")
            offset += sent
    finally:
        os.close(sock)
        os.close(file)


async def _writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        with contextlib.suppress(Exception):
            loop.remove_writer(fd)
