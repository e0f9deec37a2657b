"""Authentication of /v2: HTTP Basic with user ``AWS`` and a GetAuthorizationToken password.

The challenge is ECR's (``Basic realm=<registry URL>,service="ecr.amazonaws.com"``). A
request may also carry ``Authorization: Bearer`` with a token from ``GET /`` (see
``api/oci/token.py``), for clients that run the token flow whatever the challenge says.

It also decides which registry (account, region) a request is for, and leaves it in
``scope["state"]["registry"]``: the one an ECR-shaped host name names
(``<account>.dkr.ecr.<region>.<registry domain>``), else the caller's account in the region
its password or token was issued for, else the default account and region. A password is
for one region, as ECR's are: on a host naming another region it is refused (401, so that
the client logs in again, for that registry). A host naming a region not served answers
404 NAME_UNKNOWN.

A pure ASGI wrapper, so a refused request costs no routing; the caller it finds is
left in ``scope["state"]["caller"]`` for the handlers (None when anonymous).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from dockyard.api.oci.errors import wire_error
from dockyard.domain.errors import RegionNotServed
from dockyard.domain.records import Scope
from dockyard.domain.regions import scope_of_host
from dockyard.services.identity import Identity, Login, Unauthenticated

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
        default: Scope,
        registry_domain: str,
        serves: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.identity = identity
        self.anonymous_pull = anonymous_pull
        self.disabled = disabled
        self.realm = realm
        self.challenge = challenge(realm).encode()
        self.default = default
        self.registry_domain = registry_domain
        self.serves = serves

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        named = self._host_registry(scope)
        if named is not None and not self.serves(named.region):
            await _send_json(send, *_not_served(named.region, _host(scope)), [])
            return
        state["registry"] = named or self.default
        # The realm is the registry asked for, as ECR's is: its own host when named.
        answer = self.challenge if named is None else self._challenge_of(_host(scope))
        if self.disabled:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        state["caller"] = None
        if header is None:
            if self.anonymous_pull and _is_pull(scope):
                await self.app(scope, receive, send)
            else:
                await self._refuse(send, "authentication required", answer)
            return
        try:
            login = await self._login(header)
            if named is not None and login.region != named.region:
                raise Unauthenticated(
                    f"this authorization token is for region {login.region}, not "
                    f"{named.region}: log in to this registry with a token for its region"
                )
            if not self.serves(login.region):
                raise Unauthenticated(f"region {login.region} is not served here any more")
        except Unauthenticated as exc:
            await self._refuse(send, exc.describe(), answer)
            return
        state["caller"] = login.caller
        state["registry"] = named or Scope(login.caller.principal.account_id, login.region)
        await self.app(scope, receive, send)

    def _host_registry(self, scope: AsgiScope) -> Scope | None:
        return scope_of_host(_host(scope), self.registry_domain) if self.registry_domain else None

    async def _login(self, header: bytes) -> Login:
        scheme, value = split_authorization(header)
        if scheme == "basic":
            return await self.identity.password_login(basic_password(value))
        if scheme == "bearer":
            return await self.identity.bearer_login(value)
        raise Unauthenticated("use HTTP Basic authentication with user AWS")

    def _challenge_of(self, host: str) -> bytes:
        scheme = self.realm.partition("://")[0]
        return challenge(f"{scheme}://{host}").encode("latin-1")

    async def _refuse(self, send: Send, message: str, answer: bytes) -> None:
        body = unauthorized_body(message)
        await _send_json(send, 401, body, [(b"www-authenticate", answer)])


def _not_served(region: str, host: str) -> tuple[int, bytes]:
    error = RegionNotServed(region, host)
    status, code = wire_error(RegionNotServed)
    detail = {"region": region, "host": host}
    body = {"errors": [{"code": code, "message": error.describe(), "detail": detail}]}
    return status, json.dumps(body).encode()


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _host(scope: AsgiScope) -> str:
    raw = next((v for k, v in scope["headers"] if k == b"host"), b"")
    return bytes(raw).decode("latin-1")


def _guarded(path: str) -> bool:
    # /_dockyard/layers/ URLs carry their own signature (GetDownloadUrlForLayer).
    return path.startswith(("/v2", "/_dockyard/repositories/"))


def _is_pull(scope: AsgiScope) -> bool:
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
