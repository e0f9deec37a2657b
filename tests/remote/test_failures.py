"""Each way a remote registry can fail surfaces as its own typed error.

docker-registry provides the real not-found answers; a small registry in the test provides
the misbehaviour no real registry does on purpose (wrong bytes, 429, 503, schema 1); a closed
port and a port that never answers provide the unreachable and slow hosts.
"""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from tests.remote.conftest import run
from tests.remote.peers import (
    Recorder,
    ThreadedServer,
    digest_of,
    listening_socket,
    push_with_skopeo,
)
from tests.support.images import make_image
from tests.support.servers import Registry, free_port

from dockyard.domain.digests import Digest
from dockyard.domain.manifests import Descriptor
from dockyard.remote import (
    ClientOptions,
    DigestMismatch,
    RegistryClient,
    RemoteBlobNotFound,
    RemoteInvalidResponse,
    RemoteManifestNotFound,
    RemoteRateLimited,
    RemoteServerError,
    RemoteSink,
    RemoteSource,
    RemoteTimeout,
    RemoteUnavailable,
    RemoteUnreachable,
    RemoteUnsupported,
    copy_image,
)

pytestmark = pytest.mark.timeout(120)

REAL = make_image("remote-failures-real", layers=1)
OTHER_BYTES = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
SCHEMA1 = json.dumps({"schemaVersion": 1, "name": "old", "tag": "v1", "fsLayers": []}).encode()


UPLOADS: list[tuple[str, str, str, str]] = []
FLAKY = bytes(range(256)) * 2048  # 512 KiB
FLAKY_RANGES: list[str | None] = []  # the Range header of each request for it


def _dropping(request: Request) -> Response:
    """The first answer for ``flaky`` drops its connection halfway, then a Range request is
    served; every answer for ``dead`` drops halfway through what it was asked for."""
    wanted = request.headers.get("range")
    FLAKY_RANGES.append(wanted)
    start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
    cut = request.path_params["name"] == "dead" or start == 0
    end = start + (len(FLAKY) - start) // 2 if cut else len(FLAKY)

    async def body() -> AsyncIterator[bytes]:
        yield FLAKY[start:end]
        if cut:
            raise ConnectionAbortedError("the connection drops here on purpose")

    headers = {"Content-Length": str(len(FLAKY) - start)}
    if start:
        headers["Content-Range"] = f"bytes {start}-{len(FLAKY) - 1}/{len(FLAKY)}"
    return StreamingResponse(
        body(), status_code=206 if start else 200, headers=headers
    )  # (method, path, _state, Content-Range)


def _misbehaving_app() -> Starlette:
    def error(status: int, code: str, headers: dict[str, str] | None = None) -> Response:
        body = {"errors": [{"code": code, "message": code.lower(), "detail": None}]}
        return JSONResponse(body, status_code=status, headers=headers)

    async def base(request: Request) -> Response:
        return JSONResponse({})

    async def manifest(request: Request) -> Response:
        name, reference = request.path_params["name"], request.path_params["reference"]
        if name == "wrong":  # other bytes than the digest asked for, with the digest claimed
            return Response(
                OTHER_BYTES,
                media_type="application/vnd.oci.image.manifest.v1+json",
                headers={"Docker-Content-Digest": reference},
            )
        if name == "liar":  # a tag whose declared digest is not that of its bytes
            return Response(
                REAL.manifest.data,
                media_type=REAL.manifest.media_type,
                headers={"Docker-Content-Digest": digest_of(OTHER_BYTES)},
            )
        if name == "image":  # a real image whose layer comes back wrong (see blob)
            return Response(REAL.manifest.data, media_type=REAL.manifest.media_type)
        if name in ("token-limited", "token-broken"):  # the token service is what fails
            realm = f"{request.base_url}{name}"
            return error(401, "UNAUTHORIZED", {"WWW-Authenticate": f'Bearer realm="{realm}"'})
        if name == "limited":
            return error(429, "TOOMANYREQUESTS", {"Retry-After": "7"})
        if name == "limited-date":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            return error(429, "TOOMANYREQUESTS", {"Retry-After": when})
        if name == "broken":
            return error(503, "UNAVAILABLE")
        if name == "old":
            return Response(
                SCHEMA1, media_type="application/vnd.docker.distribution.manifest.v1+prettyjws"
            )
        return error(404, "MANIFEST_UNKNOWN")

    async def blob(request: Request) -> Response:
        digest = request.path_params["digest"]
        if request.path_params["name"] in ("flaky", "dead"):
            return _dropping(request)
        for real in REAL.blobs:
            if real.digest == digest:
                data = real.data
                if request.path_params["name"] == "image" and real is REAL.layers[0]:
                    data = bytes(reversed(data))  # same length, other bytes
                return Response(data, media_type="application/octet-stream")
        return error(404, "BLOB_UNKNOWN")

    async def token_limited(request: Request) -> Response:
        return error(429, "TOOMANYREQUESTS", {"Retry-After": "3"})

    async def token_broken(request: Request) -> Response:
        return error(502, "UNAVAILABLE")

    async def upload_start(request: Request) -> Response:
        UPLOADS.append(("POST", request.url.path, "", ""))
        location = f"/v2/{request.path_params['name']}/blobs/uploads/s1?_state=a"
        return Response(status_code=202, headers={"Location": location, "Range": "0-0"})

    async def upload_step(request: Request) -> Response:
        """Moves the session to another absolute URL after the first chunk, then claims
        to hold less than the second chunk sent."""
        body = await request.body()
        state = request.query_params.get("_state", "")
        step = (request.method, request.url.path, state, request.headers.get("content-range", ""))
        UPLOADS.append(step)
        if request.method == "DELETE":
            return Response(status_code=204)
        end = int(step[3].partition("-")[2])
        assert len(body) == int(request.headers["content-length"])
        if state == "a":
            moved = f"{request.base_url}moved/s1?_state=b"
            return Response(status_code=202, headers={"Location": moved, "Range": f"0-{end}"})
        return Response(status_code=202, headers={"Range": f"0-{end - 100}"})

    n = "/v2/{name:path}"
    return Starlette(
        routes=[
            Route(n + "/blobs/uploads/", upload_start, methods=["POST"]),
            Route(n + "/blobs/uploads/s1", upload_step, methods=["PATCH", "DELETE"]),
            Route("/moved/s1", upload_step, methods=["PATCH", "DELETE"]),
            Route("/token-limited", token_limited),
            Route("/token-broken", token_broken),
            Route("/v2/", base),
            Route(n + "/manifests/{reference}", manifest),
            Route(n + "/blobs/{digest}", blob),
        ]
    )


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[str]:
    with ThreadedServer(_misbehaving_app()) as server:
        yield server.url


def test_manifest_digest_mismatch(misbehaving: str) -> None:
    async def go() -> None:
        async with RegistryClient(misbehaving) as client:
            asked = digest_of(b"the manifest that was asked for")
            with pytest.raises(DigestMismatch) as caught:
                await client.get_manifest("wrong", asked)
            assert caught.value.expected == asked
            assert caught.value.actual == digest_of(OTHER_BYTES)
            with pytest.raises(DigestMismatch):
                await client.get_manifest("liar", "v1")

    run(go())


def test_blob_digest_mismatch_stores_nothing(misbehaving: str, dockyard_registry: Registry) -> None:
    """A layer that arrives wrong fails the copy, and the sink never completes the blob."""
    target = f"mismatch/{uuid.uuid4().hex[:10]}"
    layer = REAL.layers[0]

    wire = Recorder()

    async def go() -> None:
        async with (
            RegistryClient(misbehaving) as bad,
            RegistryClient(dockyard_registry.url, transport=wire) as dock,
        ):
            with pytest.raises(DigestMismatch) as caught:
                await copy_image(RemoteSource(bad, "image"), RemoteSink(dock, target), "v1")
            assert caught.value.expected == layer.digest
            descriptor = Descriptor(layer.media_type, Digest.parse(layer.digest), layer.size)
            assert not await RemoteSink(dock, target).has_blob(descriptor)
            with pytest.raises(RemoteManifestNotFound):
                await dock.get_manifest(target, "v1")

    run(go())
    # The abandoned upload session was cancelled, not left to expire.
    [cancel] = [s for s in wire.seen if s.method == "DELETE"]
    assert "/blobs/uploads/" in cancel.url.path and cancel.status in (200, 202, 204)
    assert httpx.get(str(cancel.url)).status_code == 404


def test_rate_limited_and_server_errors(misbehaving: str) -> None:
    async def go() -> None:
        async with RegistryClient(misbehaving) as client:
            with pytest.raises(RemoteRateLimited) as limited:
                await client.get_manifest("limited", "v1")
            assert limited.value.retry_after == 7
            assert isinstance(limited.value, RemoteUnavailable)
            with pytest.raises(RemoteRateLimited) as dated:
                await client.head_manifest("limited-date", "v1")
            assert dated.value.retry_after is not None and 100 < dated.value.retry_after <= 120
            with pytest.raises(RemoteServerError) as broken:
                await client.get_manifest("broken", "v1")
            assert broken.value.status == 503
            assert isinstance(broken.value, RemoteUnavailable)
            # The same when it is the token service that is overwhelmed or down.
            with pytest.raises(RemoteRateLimited) as token_limited:
                await client.get_manifest("token-limited", "v1")
            assert token_limited.value.retry_after == 3
        async with RegistryClient(misbehaving) as client:  # one realm per registry client
            with pytest.raises(RemoteServerError) as token_broken:
                await client.get_manifest("token-broken", "v1")
            assert token_broken.value.status == 502

    run(go())


def test_schema1_is_refused_clearly(misbehaving: str) -> None:
    async def go() -> None:
        async with RegistryClient(misbehaving) as client:
            with pytest.raises(RemoteUnsupported, match="schema 1"):
                await client.get_manifest("old", "v1")

    run(go())


def test_not_found_kinds(distribution_registry: Registry, work_dir: Path) -> None:
    repository = f"notfound/{uuid.uuid4().hex[:10]}"
    push_with_skopeo(distribution_registry.host, repository, "v1", REAL, work_dir)

    async def go() -> None:
        async with RegistryClient(distribution_registry.url) as client:
            with pytest.raises(RemoteManifestNotFound):
                await client.get_manifest(repository, "absent")
            missing = Digest.parse(digest_of(b"absent"))
            with pytest.raises(RemoteBlobNotFound):
                async for _ in client.open_blob(repository, missing):
                    pass
            assert await client.blob_size(repository, missing) is None
            size = await client.blob_size(repository, Digest.parse(REAL.layers[0].digest))
            assert size == REAL.layers[0].size

    run(go())


def test_unreachable_and_slow_hosts() -> None:
    async def go() -> None:
        closed = f"http://127.0.0.1:{free_port()}"
        async with RegistryClient(closed) as client:
            with pytest.raises(RemoteUnreachable) as caught:
                await client.ping()
            assert not isinstance(caught.value, RemoteTimeout)
            assert isinstance(caught.value, RemoteUnavailable)
        with listening_socket() as port:
            quick = ClientOptions(connect_timeout=2, read_timeout=0.5)
            async with RegistryClient(f"http://127.0.0.1:{port}", options=quick) as client:
                started = time.monotonic()
                with pytest.raises(RemoteTimeout):
                    await client.get_manifest("any", "v1")
                assert time.monotonic() - started < 5

    run(go())


def test_chunked_upload_follows_location_and_checks_range(misbehaving: str) -> None:
    """Each chunk goes where the last answer's Location said (relative or absolute, query
    and all); an answer whose Range holds less than was sent stops the push, and the
    session is cancelled at its latest Location."""
    data = bytes(range(256)) * 1024  # 256 KiB
    descriptor = Descriptor("application/octet-stream", Digest.of(data), len(data))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 10_000):
            yield data[start : start + 10_000]

    async def go() -> None:
        small = ClientOptions(chunk_size=64 * 1024)
        async with RegistryClient(misbehaving, options=small) as client:
            with pytest.raises(RemoteInvalidResponse, match="holds bytes 0-130971 after"):
                await client.push_blob("shortrange", descriptor, chunks, check_exists=False)

    UPLOADS.clear()
    run(go())
    assert UPLOADS == [
        ("POST", "/v2/shortrange/blobs/uploads/", "", ""),
        ("PATCH", "/v2/shortrange/blobs/uploads/s1", "a", "0-65535"),
        ("PATCH", "/moved/s1", "b", "65536-131071"),
        ("DELETE", "/moved/s1", "b", ""),
    ]


def test_dropped_download_resumes_where_it_stopped(misbehaving: str) -> None:
    digest = Digest.of(FLAKY)

    async def go() -> None:
        async with RegistryClient(misbehaving) as client:
            data = b"".join([c async for c in client.open_blob("flaky", digest, len(FLAKY))])
            assert data == FLAKY
            with pytest.raises(RemoteUnreachable, match="dropped"):
                async for _ in client.open_blob("dead", digest, len(FLAKY)):
                    pass

    FLAKY_RANGES.clear()
    run(go())
    half = len(FLAKY) // 2
    assert FLAKY_RANGES[:2] == [None, f"bytes={half}-"]
    assert len(FLAKY_RANGES) == 2 + 1 + ClientOptions().resume_attempts  # then it gives up
