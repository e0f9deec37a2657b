"""OCI distribution-spec operations on top of the bench HTTP client (same code for both servers)."""

from __future__ import annotations

from collections.abc import Iterable

from .data import OCI_MANIFEST, Blob, BlobSource, Image, sha256_digest
from .httpclient import Buffer, HTTPClient, Response, StatusError, add_query, target_of

OCTET = "application/octet-stream"


class RegistryError(Exception):
    pass


def expect(resp: Response, what: str, *codes: int) -> Response:
    if resp.status not in codes:
        raise StatusError(what, resp, codes)
    return resp


def _check_digest_header(resp: Response, what: str, digest: str) -> None:
    got = resp.header("docker-content-digest")
    if got is not None and got != digest:
        raise RegistryError(f"{what}: Docker-Content-Digest {got} != {digest}")


def _location(resp: Response, what: str) -> str:
    loc = resp.header("location")
    if not loc:
        raise RegistryError(f"{what}: HTTP {resp.status} without a Location header")
    return target_of(loc)


async def start_upload(client: HTTPClient, repo: str) -> str:
    what = f"POST /v2/{repo}/blobs/uploads/"
    resp = expect(await client.request("POST", f"/v2/{repo}/blobs/uploads/"), what, 202)
    return _location(resp, what)


async def supports_single_post(client: HTTPClient, repo: str) -> bool:
    """Does `POST /v2/<name>/blobs/uploads/?digest=` with a body complete the upload (201)?

    The spec lets a registry answer 202 instead (a session was opened, the body ignored):
    docker-registry 2.8 does that.
    """
    data = b"dockyard-bench single-POST probe\n"
    digest = sha256_digest(data)
    resp = await client.request(
        "POST",
        f"/v2/{repo}/blobs/uploads/?digest={digest}",
        headers={"Content-Type": OCTET},
        body=data,
    )
    if resp.status == 201:
        _check_digest_header(resp, "single-POST probe", digest)
        return True
    expect(resp, "single-POST probe", 201, 202)
    return False


async def upload_single_post(
    client: HTTPClient, repo: str, digest: str, body: Iterable[Buffer], size: int, time_limit: float
) -> None:
    what = f"POST /v2/{repo}/blobs/uploads/?digest= ({size} bytes)"
    resp = await client.request(
        "POST",
        f"/v2/{repo}/blobs/uploads/?digest={digest}",
        headers={"Content-Type": OCTET},
        body=body,
        content_length=size,
        time_limit=time_limit,
    )
    expect(resp, what, 201)
    _check_digest_header(resp, what, digest)


async def upload_post_put(
    client: HTTPClient,
    repo: str,
    digest: str,
    body: Buffer | Iterable[Buffer],
    size: int,
    time_limit: float | None = None,
) -> None:
    """POST to open a session, then one PUT ?digest= carrying the whole blob."""
    loc = await start_upload(client, repo)
    what = f"PUT <upload>?digest= ({size} bytes)"
    resp = await client.request(
        "PUT",
        add_query(loc, "digest", digest),
        headers={"Content-Type": OCTET},
        body=body,
        content_length=size,
        time_limit=time_limit,
    )
    expect(resp, what, 201)
    _check_digest_header(resp, what, digest)


async def upload_chunked(
    client: HTTPClient, repo: str, src: BlobSource, time_limit: float | None = None
) -> int:
    """POST, then one PATCH per 8 MiB chunk with Content-Range, then PUT ?digest=.

    Follows the Location of every response, as the spec requires. Returns the PATCH count.
    """
    loc = await start_upload(client, repo)
    offset = 0
    for i in range(src.n_chunks):
        n = src.chunk_len(i)
        what = f"PATCH chunk {i} (bytes {offset}-{offset + n - 1})"
        resp = await client.request(
            "PATCH",
            loc,
            headers={"Content-Type": OCTET, "Content-Range": f"{offset}-{offset + n - 1}"},
            body=src.chunk(i),
            content_length=n,
            time_limit=time_limit,
        )
        expect(resp, what, 202)
        loc = _location(resp, what)
        rng = resp.header("range")
        if rng is not None and rng != f"0-{offset + n - 1}":
            raise RegistryError(f"{what}: Range {rng!r}, expected '0-{offset + n - 1}'")
        offset += n
    what = "PUT <upload>?digest= (closing a chunked upload)"
    resp = await client.request(
        "PUT", add_query(loc, "digest", src.digest()), time_limit=time_limit
    )
    expect(resp, what, 201)
    _check_digest_header(resp, what, src.digest())
    return src.n_chunks


async def push_small_blob(client: HTTPClient, repo: str, blob: Blob) -> None:
    """The oras/containerd flow: HEAD (absent), POST, PUT ?digest= with the body."""
    what = f"HEAD /v2/{repo}/blobs/{blob.digest}"
    resp = await client.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}")
    if expect(resp, what, 200, 404).status == 200:
        return
    await upload_post_put(client, repo, blob.digest, blob.data, len(blob.data))


async def put_manifest(
    client: HTTPClient, repo: str, ref: str, manifest: bytes, digest: str
) -> None:
    what = f"PUT /v2/{repo}/manifests/{ref}"
    resp = await client.request(
        "PUT", f"/v2/{repo}/manifests/{ref}", headers={"Content-Type": OCI_MANIFEST}, body=manifest
    )
    expect(resp, what, 201)
    _check_digest_header(resp, what, digest)


async def push_image(client: HTTPClient, repo: str, tag: str, image: Image) -> None:
    await push_small_blob(client, repo, image.config)
    for layer in image.layers:
        await push_small_blob(client, repo, layer)
    await put_manifest(client, repo, tag, image.manifest, image.manifest_digest)
