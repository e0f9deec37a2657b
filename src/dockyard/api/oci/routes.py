"""Handlers of the OCI distribution API, one per endpoint, each a thin call into the service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from dockyard.api.oci import access as a
from dockyard.api.oci.access import registry_of, repository_key, requires
from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest, lookup_digest
from dockyard.domain.errors import (
    BlobUploadInvalid,
    DigestInvalid,
    ManifestTooLarge,
    ManifestUnknown,
    NameInvalid,
    PaginationInvalid,
)
from dockyard.domain.names import Tag, parse_reference
from dockyard.domain.records import ImageId, RepositoryKey
from dockyard.domain.regions import valid_region
from dockyard.services import Registry
from dockyard.services.deletion import BlobLinkTarget, ManifestTarget, TagTarget

_CATALOG_DEFAULT, _PAGE_MAX = 100, 10_000


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def base(request: Request) -> Response:
    return JSONResponse({})


# Discovery --------------------------------------------------------------


async def catalog(request: Request) -> Response:
    limit = _page_size(request, default=_CATALOG_DEFAULT)
    last = request.query_params.get("last")
    registry = _registry(request)
    scope = registry_of(request)
    page = await registry.catalog(scope, last, limit)
    # Only what ecr:DescribeRepositories allows; the page may come out short, and the next
    # link continues after the last name looked at.
    listed = [
        name
        for name in page.items
        if await a.may(
            request,
            a.DESCRIBE_REPOSITORIES,
            registry.key(name, scope.account_id, scope.region),
        )
    ]
    headers = _next_link("/v2/_catalog", page.items, page.more, limit)
    return JSONResponse({"repositories": listed}, headers=headers)


async def tags_list(request: Request) -> Response:
    name = request.path_params["name"]
    registry = _registry(request)
    limit = _page_size(request, default=None)
    page = await registry.manifests.tags(
        repository_key(request), request.query_params.get("last"), limit
    )
    headers = _next_link(f"/v2/{name}/tags/list", page.items, page.more, limit)
    return JSONResponse({"name": name, "tags": page.items}, headers=headers)


async def referrers(request: Request) -> Response:
    registry = _registry(request)
    key = repository_key(request)
    subject = Digest.parse(request.path_params["digest"])
    artifact_type = request.query_params.get("artifactType")
    found = await registry.manifests.referrers(key, subject, artifact_type)
    descriptors: list[dict[str, Any]] = []
    for r in found:
        descriptor: dict[str, Any] = {
            "mediaType": r.media_type,
            "digest": str(r.digest),
            "size": r.size,
        }
        if r.artifact_type:
            descriptor["artifactType"] = r.artifact_type
        if r.annotations:
            descriptor["annotations"] = r.annotations
        descriptors.append(descriptor)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type is not None else None
    body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
    return JSONResponse(body, media_type=mt.OCI_INDEX, headers=headers)


def _page_size(request: Request, default: int | None) -> int | None:
    text = request.query_params.get("n")
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()):  # isdigit() alone takes "²", which int() refuses
        raise PaginationInvalid(text)
    return min(int(text), _PAGE_MAX)


def _next_link(path: str, items: list[str], more: bool, limit: int | None) -> dict[str, str]:
    if not more or not items or limit is None:
        return {}
    query = urlencode({"n": limit, "last": items[-1]})
    return {"Link": f'<{path}?{query}>; rel="next"'}


# Manifests ------------------------------------------------------------


async def manifest_get(request: Request) -> Response:
    registry = _registry(request)
    key = repository_key(request)
    reference = await registry.manifests.lookup(key, request.path_params["reference"])
    head = request.method == "HEAD"
    # Local, or (a repository a pull-through cache rule covers) fetched from its upstream.
    manifest = await registry.pullthrough.manifest(
        key, reference, a.caller_of(request), a.facts_of(request), head
    )
    if not _accepts(request.headers.getlist("accept"), manifest.media_type):
        raise ManifestUnknown(f"{reference} (stored as {manifest.media_type}, not accepted)")
    headers = {
        "Docker-Content-Digest": str(manifest.digest),
        "Content-Length": str(manifest.size),
        "Content-Type": manifest.media_type,
        "ETag": f'"{manifest.digest}"',
    }
    return Response(None if head else manifest.payload, headers=headers)


def _accepts(accept_headers: list[str], media_type: str) -> bool:
    """No Accept header, a wildcard, or the stored type itself: serve it."""
    offered = [
        part.split(";")[0].strip() for header in accept_headers for part in header.split(",")
    ]
    offered = [o for o in offered if o]
    return not offered or media_type in offered or "*/*" in offered or "application/*" in offered


async def manifest_put(request: Request) -> Response:
    registry = _registry(request)
    name = request.path_params["name"]
    reference = parse_reference(request.path_params["reference"])
    # More tags in one request (distribution spec: PUT by digest with ?tag=a&tag=b).
    tags = [Tag.parse(t) for t in request.query_params.getlist("tag")]
    limit = registry.manifests.max_manifest_bytes
    payload = await _read_limited(request, limit)
    key = await registry.key_for_push(
        repository_key(request), a.caller_of(request), a.facts_of(request)
    )
    pushed = await registry.manifests.put(
        key, reference, payload, request.headers.get("content-type"), tags
    )
    headers = {
        "Location": f"/v2/{name}/manifests/{pushed.digest}",
        "Docker-Content-Digest": str(pushed.digest),
    }
    if pushed.subject is not None:
        headers["OCI-Subject"] = str(pushed.subject)
    if tags:
        # Every one was set (or the push failed): the spec's acknowledgement of each.
        headers["OCI-Tag"] = ", ".join(dict.fromkeys(t.value for t in tags))
    return Response(status_code=201, headers=headers)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ManifestTooLarge(limit)
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ManifestTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


async def manifest_delete(request: Request) -> Response:
    registry = _registry(request)
    key = repository_key(request)
    reference = await registry.manifests.lookup(key, request.path_params["reference"])
    if isinstance(reference, Tag):
        await registry.deleter.delete(TagTarget(key, reference))
    else:
        await registry.deleter.delete(ManifestTarget(key, reference))
    return Response(status_code=202)


# Blobs ----------------------------------------------------------------


class _BlobFile(FileResponse):
    chunk_size = 1 << 20  # when the server cannot send the file itself


async def blob_get(request: Request) -> Response:
    registry = _registry(request)
    key = repository_key(request)
    digest = await registry.blobs.lookup(key, request.path_params["digest"])
    caller, facts = a.caller_of(request), a.facts_of(request)
    if request.method == "HEAD":
        size = await registry.pullthrough.blob_size(key, digest, caller, facts)
        return Response(headers=_blob_headers(digest, size))
    content = await registry.pullthrough.blob(
        key, digest, request.headers.get("range"), caller, facts
    )
    if content.redirect is not None:
        return _redirect(content.redirect, digest)
    if content.range is not None:
        assert content.chunks is not None
        headers = _blob_headers(digest, content.range.length)
        headers["Content-Range"] = f"bytes {content.range.start}-{content.range.end}/{content.size}"
        return StreamingResponse(content.chunks, status_code=206, headers=headers)
    headers = _blob_headers(digest, content.size)
    if content.path is not None:
        return _BlobFile(content.path, headers=headers, media_type="application/octet-stream")
    assert content.chunks is not None
    return StreamingResponse(content.chunks, headers=headers)


def _redirect(url: str, digest: Digest) -> Response:
    """The client fetches the bytes from the store itself (a presigned URL)."""
    return Response(
        status_code=307, headers={"Location": url, "Docker-Content-Digest": str(digest)}
    )


def _blob_headers(digest: Digest, length: int) -> dict[str, str]:
    return {
        "Docker-Content-Digest": str(digest),
        "Content-Length": str(length),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
    }


async def layer_download(request: Request) -> Response:
    """A GetDownloadUrlForLayer URL: the signed token is the only credential."""
    registry = _registry(request)
    subject = registry.identity.read_download_token(request.path_params["token"])
    where, _, digest_text = subject.partition("@")
    account, _, rest = where.partition("/")
    # <account>/<region>/<name>; URLs issued before regions were <account>/<name>.
    region, _, name = rest.partition("/")
    if not valid_region(region) or not name:
        region, name = registry.settings.region, rest
    digest = Digest.parse(digest_text)
    content = await registry.blobs.open(registry.key(name, account, region), digest)
    if content.redirect is not None:
        return _redirect(content.redirect, digest)
    headers = _blob_headers(digest, content.size)
    if content.path is not None:
        return _BlobFile(content.path, headers=headers, media_type="application/octet-stream")
    assert content.chunks is not None
    return StreamingResponse(content.chunks, headers=headers)


async def image_sbom(request: Request) -> Response:
    """The CycloneDX SBOM of a scanned image (a Dockyard extension beside /v2)."""
    registry = _registry(request)
    key = repository_key(request)
    reference = request.path_params["reference"]
    image_id = ImageId(reference, None) if ":" in reference else ImageId(None, reference)
    body = await registry.scanning.sbom(key, image_id)
    return Response(body, media_type="application/vnd.cyclonedx+json")


async def blob_delete(request: Request) -> Response:
    registry = _registry(request)
    key = repository_key(request)
    digest = await registry.blobs.lookup(key, request.path_params["digest"])
    await registry.deleter.delete(BlobLinkTarget(key, digest))
    return Response(status_code=202)


# Uploads --------------------------------------------------------------


def _upload_headers(name: str, upload_id: str, offset: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(offset - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }


def _created(name: str, digest: Digest) -> Response:
    headers = {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": str(digest)}
    return Response(status_code=201, headers=headers)


async def upload_start(request: Request) -> Response:
    registry = _registry(request)
    name = request.path_params["name"]
    params = request.query_params
    key = await registry.key_for_push(
        repository_key(request), a.caller_of(request), a.facts_of(request)
    )
    mount, source = params.get("mount"), params.get("from")
    if mount and source and await registry.mounting_enabled(key.scope):
        digest = lookup_digest(mount)
        # A mount that cannot happen (bad digest, bad or unknown source) falls back to an
        # ordinary upload session, as the spec asks.
        with contextlib.suppress(NameInvalid):
            source_key = repository_key(request, source)
            # Mounts stay within one registry, and need read access to the source.
            if (
                digest is not None
                and source_key.scope == key.scope
                and await _may_read(request, source_key)
                and await registry.blobs.mount(source_key, key, digest)
            ):
                return _created(name, digest)
    elif "digest" in params:
        digest = Digest.parse(params["digest"])
        await registry.uploads.push_whole(key, digest, _body(request))
        return _created(name, digest)
    state = await registry.uploads.start(key)
    return Response(status_code=202, headers=_upload_headers(name, state.upload_id, 0))


async def _may_read(request: Request, key: RepositoryKey) -> bool:
    return await a.may(request, a.BATCH_GET_IMAGE, key) or await a.may(
        request, a.GET_DOWNLOAD_URL, key
    )


async def upload_status(request: Request) -> Response:
    registry = _registry(request)
    name, upload_id = request.path_params["name"], request.path_params["upload_id"]
    state = await registry.uploads.status(repository_key(request), upload_id)
    return Response(status_code=204, headers=_upload_headers(name, upload_id, state.offset))


async def upload_patch(request: Request) -> Response:
    registry = _registry(request)
    name, upload_id = request.path_params["name"], request.path_params["upload_id"]
    start, length = _content_range(request.headers.get("content-range"))
    state = await registry.uploads.append(
        repository_key(request), upload_id, _body(request), start, length
    )
    return Response(status_code=202, headers=_upload_headers(name, upload_id, state.offset))


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    if not header:
        return None, None
    text = header.strip().removeprefix("bytes").strip(" =")
    first, _, last = text.partition("-")
    last = last.split("/")[0]
    # ASCII first: isdigit() alone takes "²" (a Latin-1 header byte), which int() refuses.
    if not (text.isascii() and first.isdigit() and last.isdigit()) or int(last) < int(first):
        raise BlobUploadInvalid(f"bad Content-Range {header!r}")
    return int(first), int(last) - int(first) + 1


async def upload_complete(request: Request) -> Response:
    registry = _registry(request)
    name, upload_id = request.path_params["name"], request.path_params["upload_id"]
    text = request.query_params.get("digest")
    if not text:
        raise DigestInvalid("", "the digest query parameter is required")
    digest = Digest.parse(text)
    # A last chunk may come with the PUT, placed by Content-Range like a PATCH's; a range
    # sent with no body places nothing.
    start, length = None, None
    if request.headers.get("content-length") != "0":
        start, length = _content_range(request.headers.get("content-range"))
    await registry.uploads.complete(
        repository_key(request), upload_id, digest, _body(request), start, length
    )
    return _created(name, digest)


async def upload_cancel(request: Request) -> Response:
    registry = _registry(request)
    upload_id = request.path_params["upload_id"]
    await registry.uploads.cancel(repository_key(request), upload_id)
    return Response(status_code=204)


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


def oci_routes() -> list[BaseRoute]:
    """Every endpoint, and the ECR action each method needs on the repository it names."""
    n = "/v2/{name:path}"
    read = {"GET": a.BATCH_GET_IMAGE, "HEAD": a.BATCH_GET_IMAGE}
    blob_read = {"GET": a.GET_DOWNLOAD_URL, "HEAD": a.CHECK_LAYER}
    upload = {"GET": a.UPLOAD_PART, "PATCH": a.UPLOAD_PART, "DELETE": a.UPLOAD_PART}
    return [
        Route("/v2/", base, methods=["GET"]),
        Route("/v2/_catalog", catalog, methods=["GET"]),  # lists what DescribeRepositories allows
        Route(n + "/tags/list", requires(read, tags_list), methods=["GET"]),
        Route(n + "/referrers/{digest}", requires(read, referrers), methods=["GET"]),
        Route(n + "/manifests/{reference}", requires(read, manifest_get), methods=["GET", "HEAD"]),
        Route(
            n + "/manifests/{reference}",
            requires({"PUT": a.PUT_IMAGE}, manifest_put),
            methods=["PUT"],
        ),
        Route(
            n + "/manifests/{reference}",
            requires({"DELETE": a.DELETE_IMAGE}, manifest_delete),
            methods=["DELETE"],
        ),
        Route(
            n + "/blobs/uploads/",
            requires({"POST": a.INITIATE_UPLOAD}, upload_start),
            methods=["POST"],
        ),
        Route(
            n + "/blobs/uploads",
            requires({"POST": a.INITIATE_UPLOAD}, upload_start),
            methods=["POST"],
        ),
        Route(n + "/blobs/uploads/{upload_id}", requires(upload, upload_status), methods=["GET"]),
        Route(n + "/blobs/uploads/{upload_id}", requires(upload, upload_patch), methods=["PATCH"]),
        Route(
            n + "/blobs/uploads/{upload_id}",
            requires({"PUT": a.COMPLETE_UPLOAD}, upload_complete),
            methods=["PUT"],
        ),
        Route(
            n + "/blobs/uploads/{upload_id}", requires(upload, upload_cancel), methods=["DELETE"]
        ),
        Route(n + "/blobs/{digest}", requires(blob_read, blob_get), methods=["GET", "HEAD"]),
        Route(
            n + "/blobs/{digest}",
            requires({"DELETE": a.DELETE_IMAGE}, blob_delete),
            methods=["DELETE"],
        ),
        # A GetDownloadUrlForLayer URL: authorized when it was issued; its signature is all.
        Route("/_dockyard/layers/{token}", layer_download, methods=["GET"]),
        Route(
            "/_dockyard/repositories/{name:path}/images/{reference}/sbom",
            requires({"GET": a.SCAN_FINDINGS}, image_sbom),
            methods=["GET"],
        ),
    ]
