"""Request bodies as the network delivers them: slowly, partly, or not at all.

``BodyGuard`` wraps the whole application (both APIs) and does two things no handler
should have to remember:

* It bounds the wait for each piece of a request body: a client that stops sending (or
  trickles slower than one piece per ``timeout``) makes ``receive`` raise ``BodyTimeout``,
  which the handlers answer with 408. Whatever the handler was writing is abandoned the
  same way as on a disconnect, so an upload session keeps its last committed offset and
  can be resumed.
* It closes the connection after any answer given before the body was read to its end
  (a 401, a 413, a 408): otherwise the server would go on receiving, only to discard, a
  body nobody wants, and the connection could carry no other request until it ended.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeout(Exception):
    """No piece of the request body arrived for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no request body data for {seconds:g} seconds")
        self.seconds = seconds


def declares_body(scope: Scope) -> bool:
    """Whether the request's headers announce a body (a non-zero length, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


class BodyGuard:
    """A pure ASGI wrapper: body read timeouts, and no keep-alive after an early answer."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not declares_body(scope):
            await self.app(scope, receive, send)
            return
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                # Past the body, receive() only waits for a disconnect (streaming answers):
                # that wait is as long as the answer takes, not a client's idleness.
                return await receive()
            try:
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.timeout) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_done:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, timed_receive, closing_send)
