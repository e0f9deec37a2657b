"""Authentication of /v2: HTTP Basic with user ``AWS`` and a GetAuthorizationToken password.

The challenge is ECR's (``Basic realm=<registry URL>,service="ecr.amazonaws.com"``). A
request may also carry ``Authorization: Bearer`` with a token from ``GET /`` (see
``api/oci/token.py``), for clients that run the token flow whatever the challenge says.

A pure ASGI wrapper, so a refused request costs no routing; the caller it finds is
left in ``scope["state"]["caller"]`` for the handlers (None when anonymous).
"""

from __future__ import annotations

import base64
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.domain.identity import Caller
from dockyard.services.identity import Identity, Unauthenticated

_READS = frozenset({"GET", "HEAD"})


def challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` value of a 401, as ECR words it."""
    return f'Basic realm="{realm}",service="ecr.amazonaws.com"'


def unauthorized_body(message: str) -> bytes:
    return json.dumps(
        {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": None}]}
    ).encode()


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
        self.challenge = challenge(realm).encode()

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
            scope["state"]["caller"] = await self._caller(header)
        except Unauthenticated as exc:
            await self._refuse(send, exc.describe())
            return
        await self.app(scope, receive, send)

    async def _caller(self, header: bytes) -> Caller:
        scheme, value = split_authorization(header)
        if scheme == "basic":
            return await self.identity.check_password(basic_password(value))
        if scheme == "bearer":
            return await self.identity.check_bearer(value)
        raise Unauthenticated("use HTTP Basic authentication with user AWS")

    async def _refuse(self, send: Send, message: str) -> None:
        body = unauthorized_body(message)
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


def split_authorization(header: bytes) -> tuple[str, str]:
    """(scheme in lowercase, credentials) of an Authorization header's raw bytes."""
    # Latin-1 maps every byte to a character, so any header decodes; what is not
    # ASCII then fails as malformed credentials below, never as an exception.
    scheme, _, value = header.decode("latin-1").strip().partition(" ")
    return scheme.lower(), value.strip()


def basic_password(value: str) -> str:
    """The password of Basic credentials for user AWS; Unauthenticated for anything else."""
    try:
        # ValueError covers non-ASCII text (UnicodeEncodeError), bad base64
        # (binascii.Error) and a decoded user:password that is not UTF-8.
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except ValueError:
        raise Unauthenticated("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep or user != "AWS":
        raise Unauthenticated("the user name must be AWS")
    return password
