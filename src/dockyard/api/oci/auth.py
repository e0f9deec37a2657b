"""Authentication of /v2: HTTP Basic with user ``AWS`` and a GetAuthorizationToken password.

A pure ASGI wrapper, so a refused request costs no routing; the caller it finds is
left in ``scope["state"]["caller"]`` for the handlers (None when anonymous).
"""

from __future__ import annotations

import base64
import binascii
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.services.identity import Identity, Unauthenticated

_READS = frozenset({"GET", "HEAD"})


class BasicAuth:
    def __init__(
        self,
        app: ASGIApp,
        identity: Identity,
        realm: str,
        *,
        anonymous_pull: bool,
        disabled: bool,
    ) -> None:
        self.app = app
        self.identity = identity
        self.anonymous_pull = anonymous_pull
        self.disabled = disabled
        self.challenge = f'Basic realm="{realm}",service="ecr.amazonaws.com"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]) or self.disabled:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        scope.setdefault("state", {})["caller"] = None
        if header is None:
            if self.anonymous_pull and _is_pull(scope):
                await self.app(scope, receive, send)
            else:
                await self._refuse(send, "authentication required")
            return
        try:
            password = _basic_password(header)
            scope["state"]["caller"] = await self.identity.check_password(password)
        except Unauthenticated as exc:
            await self._refuse(send, exc.describe())
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps(
            {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": None}]}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", self.challenge),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _guarded(path: str) -> bool:
    # /_dockyard/layers/ URLs carry their own signature (GetDownloadUrlForLayer).
    return path.startswith(("/v2", "/_dockyard/repositories/"))


def _is_pull(scope: Scope) -> bool:
    # An upload's status is part of a push, even though it is a GET.
    return scope["method"] in _READS and "/blobs/uploads" not in scope["path"]


def _basic_password(header: bytes) -> str:
    scheme, _, value = header.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("use HTTP Basic authentication with user AWS")
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    if not sep or user != "AWS":
        raise Unauthenticated("the user name must be AWS")
    return password
