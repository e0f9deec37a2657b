"""Small HTTP helpers for the OCI distribution-spec protocol tests.

Everything here speaks raw HTTP through an ``httpx.Client`` whose ``base_url`` is the
registry; nothing here knows which registry implementation is on the other end.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_MANIFEST,
    add_query,
)
from tests.support.images import sha256_digest as sha256_digest  # re-exported

# The error codes defined by the OCI distribution-spec v1.1 ("Error Codes" table).
ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
    }
)


def dockyard_only(reason: str) -> pytest.MarkDecorator:
    """Mark a ``registry``-parametrized test as not applicable to CNCF distribution 2.8.

    `reason` says how docker-registry 2.8 deviates from the v1.1 spec (or where the test
    checks a Dockyard/ECR-specific limit). The distribution variant is reported as skipped
    with that reason, so the list of deviations shows up in ``pytest -ra``.
    """
    return pytest.mark.skip_reference(reason=reason)


def sha512_digest(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def digest_of(data: bytes, algorithm: str) -> str:
    """``sha256:...`` or ``sha512:...`` of ``data``."""
    return {"sha256": sha256_digest, "sha512": sha512_digest}[algorithm](data)


def tag_header_values(resp: httpx.Response) -> list[str]:
    """Every tag an ``OCI-Tag`` response acknowledges (repeated headers or comma lists)."""
    return [t.strip() for h in resp.headers.get_list("oci-tag") for t in h.split(",") if t.strip()]


def random_bytes(n: int, seed: object) -> bytes:
    return random.Random(f"bytes:{seed}").randbytes(n)


def blob_url(repo: str, digest: str) -> str:
    return f"/v2/{repo}/blobs/{digest}"


def manifest_url(repo: str, reference: str) -> str:
    return f"/v2/{repo}/manifests/{reference}"


def error_codes(resp: httpx.Response) -> list[str]:
    """The ``code`` of every error in a spec-shaped JSON error body."""
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("errors"), list), body
    return [str(e.get("code")) for e in body["errors"]]


def assert_error(resp: httpx.Response, status: int | set[int], *codes: str) -> list[str]:
    """Assert an error response: status, spec JSON body shape, and one of `codes`.

    The body must be ``{"errors": [{"code": ..., "message": ..., "detail": ...}, ...]}``
    (``message`` and ``detail`` are optional per the spec, ``code`` is required and must
    be one of the spec's codes). At least one error must carry one of `codes`.
    """
    statuses = {status} if isinstance(status, int) else status
    detail = f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:500]}"
    assert resp.status_code in statuses, detail
    ctype = resp.headers.get("content-type", "")
    assert "json" in ctype, f"error body is not JSON ({ctype!r}): {detail}"
    body = resp.json()
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, detail
    for err in errors:
        assert isinstance(err, dict), detail
        code = err.get("code")
        assert isinstance(code, str) and code.replace("_", "").isalpha() and code.isupper(), detail
        if "message" in err:
            assert isinstance(err["message"], str), detail
    found = [e["code"] for e in errors]
    if codes:
        assert set(found) & set(codes), f"expected one of {codes}, got {found}: {detail}"
    return found


def absolute(base: httpx.URL | str, location: str) -> str:
    """Resolve a (possibly relative) ``Location`` header against the registry URL."""
    return urljoin(str(base), location)


def upload_location(client: httpx.Client, resp: httpx.Response) -> str:
    loc = resp.headers.get("location")
    assert loc, f"no Location header in {resp.status_code} {resp.request.method} response"
    return absolute(client.base_url, loc)


def start_upload(client: httpx.Client, repo: str) -> tuple[httpx.Response, str]:
    """``POST /v2/<repo>/blobs/uploads/`` (empty body); returns (response, upload URL)."""
    r = client.post(f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    assert r.status_code == 202, f"start upload -> {r.status_code}: {r.text[:300]}"
    return r, upload_location(client, r)


def patch_chunk(
    client: httpx.Client, location: str, data: bytes, start: int | None
) -> httpx.Response:
    """PATCH one chunk. With `start`, sends ``Content-Range: start-end`` (inclusive)."""
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
    if start is not None:
        headers["Content-Range"] = f"{start}-{start + len(data) - 1}"
    return client.patch(location, content=data, headers=headers)


def finish_upload(
    client: httpx.Client, location: str, digest: str, data: bytes = b""
) -> httpx.Response:
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
    return client.put(add_query(location, digest=digest), content=data, headers=headers)


def parse_range(value: str | None) -> tuple[int, int]:
    """Parse an upload-progress ``Range`` header: ``0-<end>`` (``bytes=`` prefix tolerated)."""
    assert value, "missing Range header"
    v = value.removeprefix("bytes=")
    start, _, end = v.partition("-")
    return int(start), int(end)


def put_manifest(
    client: httpx.Client, repo: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST
) -> httpx.Response:
    return client.put(
        manifest_url(repo, reference), content=body, headers={"Content-Type": media_type}
    )


def get_manifest(
    client: httpx.Client, repo: str, reference: str, accept: str = MANIFEST_ACCEPT
) -> httpx.Response:
    return client.get(manifest_url(repo, reference), headers={"Accept": accept})


def head_manifest(
    client: httpx.Client, repo: str, reference: str, accept: str = MANIFEST_ACCEPT
) -> httpx.Response:
    return client.head(manifest_url(repo, reference), headers={"Accept": accept})


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
