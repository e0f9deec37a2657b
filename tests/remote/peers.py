"""The registries the remote client is tested against, and what watches the traffic.

* ``HtpasswdDistribution``: docker-registry with htpasswd Basic auth (bcrypt entries).
* ``ThreadedServer``: an ASGI app under uvicorn in a thread, for the peers that are not
  ours: ``BearerFront`` (words an authenticating Dockyard's challenge as a token-auth
  registry does, so that the client runs the Bearer flow against Dockyard's real token
  endpoint and token checks) and ``misbehaving_registry`` (wrong bytes, 429, 5xx, schema 1,
  a redirect to a storage host that records what it was sent).
* ``Recorder``: the client's real HTTP transport, noting each request it sends.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send
from tests.support.images import Image, ImageIndex, write_oci_layout
from tests.support.servers import DistributionProcess, _yaml_str, free_port
from tests.support.tools import skopeo


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for an htpasswd file (docker-registry accepts no other kind)."""
    try:
        import bcrypt  # type: ignore[import-not-found]

        hashed: bytes = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5))
        return hashed.decode()
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))


class HtpasswdDistribution(DistributionProcess):
    """docker-registry that asks for HTTP Basic credentials checked against an htpasswd file."""

    name = "distribution-htpasswd"

    def __init__(self, root_dir: Path, users: dict[str, str], **kwargs: Any) -> None:
        super().__init__(root_dir, **kwargs)
        self.users = users

    def write_config(self) -> Path:
        path = super().write_config()
        htpasswd = self._log_dir / "htpasswd"
        htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in self.users.items()))
        with path.open("a") as config:
            config.write(
                "auth:\n"
                "  htpasswd:\n"
                "    realm: dockyard-tests\n"
                f"    path: {_yaml_str(str(htpasswd))}\n"
            )
        return path


class ThreadedServer:
    """An ASGI app served by uvicorn on 127.0.0.1 from a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


_HOP_BY_HOP = {b"connection", b"transfer-encoding", b"keep-alive", b"host"}


class BearerFront:
    """Forwards every request to ``upstream`` unchanged, except that a 401's challenge is
    worded ``Bearer realm=<realm>,service=...``: the answer of a registry using token auth.

    Dockyard answers the token flow at ``GET /`` (Basic credentials in, a bearer token out)
    and accepts the tokens on ``/v2``; it only words its own challenge ``Basic``.
    """

    def __init__(self, upstream: str, realm: str) -> None:
        self.upstream = upstream
        self.realm = realm
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=60)
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP]
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        url = self.upstream + scope["raw_path"].decode()
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode()
        request = self.client.build_request(
            scope["method"], url, headers=headers, content=_body(receive) if has_body else None
        )
        response = await self.client.send(request, stream=True)
        out = [
            (k.lower(), v)
            for k, v in response.headers.raw
            if k.lower() not in _HOP_BY_HOP and k.lower() != b"www-authenticate"
        ]
        if response.status_code == 401:
            challenge = f'Bearer realm="{self.realm}",service="dockyard-tests"'
            out.append((b"www-authenticate", challenge.encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await response.aclose()
        await send({"type": "http.response.body", "body": b""})


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body"):
            return


@dataclass
class Seen:
    method: str
    url: httpx.URL
    authorization: str | None
    status: int


class Recorder(httpx.AsyncHTTPTransport):
    """httpx's real transport, keeping a note of each request and its answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        auth = request.headers.get("authorization")
        self.seen.append(Seen(request.method, request.url, auth, response.status_code))
        return response

    def count(self, method: str, path_part: str = "") -> int:
        return sum(1 for s in self.seen if s.method == method and path_part in s.url.path)


def push_with_skopeo(
    host: str,
    repository: str,
    tag: str,
    item: Image | ImageIndex,
    scratch: Path,
    creds: str | None = None,
) -> None:
    """Push a generated image or index with skopeo from an OCI layout, digests unchanged."""
    layout = write_oci_layout(scratch / f"layout-{item.digest[7:19]}", {"src": item})
    auth = ["--dest-creds", creds] if creds else []
    skopeo(
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        *auth,
        f"oci:{layout}:src",
        f"docker://{host}/{repository}:{tag}",
    )


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def listening_socket() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]
