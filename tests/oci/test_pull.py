"""Pull: manifests and blobs by tag and digest, HEAD, content negotiation, Range, 404s."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Registry
from tests.oci.helpers import (
    assert_error,
    blob_url,
    dockyard_only,
    get_manifest,
    head_manifest,
    manifest_url,
    random_bytes,
    sha256_digest,
)
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_MANIFEST,
    Image,
    make_image,
    push_blob,
    push_image,
)


@pytest.fixture
def pushed(http: httpx.Client, repo_name: str) -> Image:
    img = make_image(f"pull/{repo_name}", layers=2)
    push_image(http, repo_name, img, tag="v1")
    return img


def _assert_manifest_response(r: httpx.Response, img: Image, *, head: bool) -> None:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["docker-content-digest"] == img.digest
    # The spec says registries SHOULD NOT add parameters; clients must ignore them.
    assert r.headers["content-type"].split(";")[0].strip() == OCI_MANIFEST
    assert int(r.headers["content-length"]) == img.manifest.size
    if head:
        assert r.content == b""
    else:
        assert r.content == img.manifest.data
        assert sha256_digest(r.content) == img.digest


# --- manifests ------------------------------------------------------------------------------
def test_get_manifest_by_tag(http: httpx.Client, repo_name: str, pushed: Image) -> None:
    r = get_manifest(http, repo_name, "v1")
    _assert_manifest_response(r, pushed, head=False)


def test_get_manifest_by_digest(http: httpx.Client, repo_name: str, pushed: Image) -> None:
    r = get_manifest(http, repo_name, pushed.digest)
    _assert_manifest_response(r, pushed, head=False)


def test_head_manifest_by_tag(http: httpx.Client, repo_name: str, pushed: Image) -> None:
    r = head_manifest(http, repo_name, "v1")
    _assert_manifest_response(r, pushed, head=True)


def test_head_manifest_by_digest(http: httpx.Client, repo_name: str, pushed: Image) -> None:
    r = head_manifest(http, repo_name, pushed.digest)
    _assert_manifest_response(r, pushed, head=True)


@pytest.mark.parametrize(
    "accept",
    [
        OCI_MANIFEST,
        MANIFEST_ACCEPT,
        # q-values must not stop the registry from serving an acceptable type.
        "application/vnd.docker.distribution.manifest.v2+json;q=0.9, "
        "application/vnd.oci.image.manifest.v1+json;q=0.5",
    ],
    ids=["exact", "list", "qvalues"],
)
def test_get_manifest_content_negotiation(
    http: httpx.Client, repo_name: str, pushed: Image, accept: str
) -> None:
    r = get_manifest(http, repo_name, "v1", accept=accept)
    _assert_manifest_response(r, pushed, head=False)


def test_get_manifest_accept_as_repeated_headers(
    http: httpx.Client, repo_name: str, pushed: Image
) -> None:
    # Several Accept header lines are equivalent to one comma-joined line (RFC 9110 5.3).
    headers = [("Accept", "application/vnd.oci.image.index.v1+json"), ("Accept", OCI_MANIFEST)]
    r = http.get(manifest_url(repo_name, "v1"), headers=headers)
    _assert_manifest_response(r, pushed, head=False)


def test_get_unknown_tag_is_manifest_unknown(
    http: httpx.Client, repo_name: str, pushed: Image
) -> None:
    r = get_manifest(http, repo_name, "no-such-tag")
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    r = head_manifest(http, repo_name, "no-such-tag")
    assert r.status_code == 404
    assert r.content == b""


def test_get_unknown_digest_is_manifest_unknown(
    http: httpx.Client, repo_name: str, pushed: Image
) -> None:
    missing = sha256_digest(b"no such manifest " + repo_name.encode())
    r = get_manifest(http, repo_name, missing)
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    r = head_manifest(http, repo_name, missing)
    assert r.status_code == 404
    assert r.content == b""


@dockyard_only("distribution 2.8 answers 500 when a manifest digest names a non-manifest blob")
def test_blob_digest_is_not_a_manifest(http: httpx.Client, repo_name: str, pushed: Image) -> None:
    # The config is a blob in the repository, not a manifest: the manifest endpoint must 404.
    r = get_manifest(http, repo_name, pushed.config.digest)
    assert_error(r, 404, "MANIFEST_UNKNOWN")


def test_get_manifest_unknown_repository(registry: Registry, http: httpx.Client) -> None:
    repo = "never/pushed-" + sha256_digest(registry.url.encode())[7:19]
    r = get_manifest(http, repo, "latest")
    if registry.kind == "dockyard":
        # NAME_UNKNOWN is the spec's code for "repository name not known to registry".
        assert_error(r, 404, "NAME_UNKNOWN")
    else:
        # distribution 2.8 answers MANIFEST_UNKNOWN for a tag in a repository it never saw.
        assert_error(r, 404, "NAME_UNKNOWN", "MANIFEST_UNKNOWN")
    r = head_manifest(http, repo, "latest")
    assert r.status_code == 404
    assert r.content == b""


def test_tags_list_unknown_repository(http: httpx.Client) -> None:
    r = http.get("/v2/never/pushed-tags-list/tags/list")
    assert_error(r, 404, "NAME_UNKNOWN")


# Neither a tag nor a digest: nothing can be stored under these, so a lookup finds nothing.
INVALID_TAGS = [".INVALID_MANIFEST_NAME", "-dash", "t" * 129, "a+b"]
MALFORMED_DIGESTS = ["sha256:abc", "sha256:" + "A" * 64, "sha384:" + "0" * 96, "md5:" + "0" * 32]


@pytest.mark.parametrize("reference", INVALID_TAGS, ids=["dot", "dash", "129", "plus"])
def test_lookup_of_an_invalid_tag_is_404(
    registry: Registry, http: httpx.Client, repo_name: str, pushed: Image, reference: str
) -> None:
    # The spec's GET, HEAD and DELETE of a manifest fail with 404 only; the conformance suite
    # asks for ".INVALID_MANIFEST_NAME". (distribution 2.8's router answers a plain-text 404.)
    responses = [
        get_manifest(http, repo_name, reference),
        head_manifest(http, repo_name, reference),
        http.delete(manifest_url(repo_name, reference)),
    ]
    for r in responses:
        assert r.status_code == 404, f"{r.request.method}: {r.status_code} {r.text[:200]}"
        if registry.kind == "dockyard" and r.request.method != "HEAD":
            assert_error(r, 404, "MANIFEST_UNKNOWN")
    # Nothing was touched.
    assert get_manifest(http, repo_name, "v1").status_code == 200


@dockyard_only("distribution 2.8 answers 500 UNKNOWN for a malformed digest reference")
@pytest.mark.parametrize("reference", MALFORMED_DIGESTS, ids=str)
def test_lookup_of_a_malformed_digest_is_404(
    http: httpx.Client, repo_name: str, pushed: Image, reference: str
) -> None:
    assert_error(get_manifest(http, repo_name, reference), 404, "MANIFEST_UNKNOWN")
    assert head_manifest(http, repo_name, reference).status_code == 404
    assert_error(http.delete(manifest_url(repo_name, reference)), 404, "MANIFEST_UNKNOWN")
    assert_error(http.get(blob_url(repo_name, reference)), 404, "BLOB_UNKNOWN")
    assert http.head(blob_url(repo_name, reference)).status_code == 404
    assert_error(http.delete(blob_url(repo_name, reference)), 404, "BLOB_UNKNOWN")


@dockyard_only("distribution 2.8 routes invalid tags to a plain-text 404 page")
def test_lookup_of_an_invalid_reference_in_an_unknown_repository(http: httpx.Client) -> None:
    # The repository's absence comes first, as for any other reference.
    repo = "never/pushed-invalid-reference"
    for reference in (INVALID_TAGS[0], MALFORMED_DIGESTS[0]):
        assert_error(get_manifest(http, repo, reference), 404, "NAME_UNKNOWN")
        assert_error(http.delete(manifest_url(repo, reference)), 404, "NAME_UNKNOWN")
    assert_error(http.get(blob_url(repo, MALFORMED_DIGESTS[0])), 404, "NAME_UNKNOWN")


# --- blobs ----------------------------------------------------------------------------------
BLOB_SIZE = 10_000


@pytest.fixture
def blob(http: httpx.Client, repo_name: str) -> bytes:
    data = random_bytes(BLOB_SIZE, repo_name)
    push_blob(http, repo_name, data)
    return data


def test_get_blob(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    digest = sha256_digest(blob)
    r = http.get(blob_url(repo_name, digest))
    assert r.status_code == 200
    assert r.content == blob
    assert r.headers["docker-content-digest"] == digest
    assert int(r.headers["content-length"]) == len(blob)


def test_head_blob(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    digest = sha256_digest(blob)
    r = http.head(blob_url(repo_name, digest))
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["docker-content-digest"] == digest
    assert int(r.headers["content-length"]) == len(blob)


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=2-5", 2, 5),
        ("bytes=0-0", 0, 0),
        ("bytes=9000-", 9000, BLOB_SIZE - 1),
        ("bytes=-100", BLOB_SIZE - 100, BLOB_SIZE - 1),
        # An end past the last byte is clamped (RFC 9110 14.1.2).
        (f"bytes=9990-{BLOB_SIZE + 500}", 9990, BLOB_SIZE - 1),
    ],
    ids=["middle", "first-byte", "open-ended", "suffix", "clamped"],
)
def test_get_blob_range(
    http: httpx.Client, repo_name: str, blob: bytes, spec: str, start: int, end: int
) -> None:
    digest = sha256_digest(blob)
    r = http.get(blob_url(repo_name, digest), headers={"Range": spec})
    assert r.status_code == 206, r.text[:200]
    assert r.headers["content-range"] == f"bytes {start}-{end}/{len(blob)}"
    assert int(r.headers["content-length"]) == end - start + 1
    assert r.content == blob[start : end + 1]


def test_head_blob_with_range(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    # RFC 9110 defines Range for GET only, so a HEAD may answer 200 or mirror the 206.
    digest = sha256_digest(blob)
    r = http.head(blob_url(repo_name, digest), headers={"Range": "bytes=2-5"})
    assert r.content == b""
    assert r.headers["docker-content-digest"] == digest
    if r.status_code == 206:
        assert r.headers["content-range"] == f"bytes 2-5/{len(blob)}"
        assert int(r.headers["content-length"]) == 4
    else:
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == len(blob)


def test_get_blob_unsatisfiable_range(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    digest = sha256_digest(blob)
    # Streamed: distribution 2.8 sends a 416 whose Content-Length does not match its body.
    with http.stream(
        "GET", blob_url(repo_name, digest), headers={"Range": f"bytes={BLOB_SIZE + 10}-"}
    ) as r:
        assert r.status_code == 416
        assert r.headers["content-range"] == f"bytes */{len(blob)}"


def test_get_unknown_blob(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    missing = sha256_digest(b"missing " + repo_name.encode())
    r = http.get(blob_url(repo_name, missing))
    assert_error(r, 404, "BLOB_UNKNOWN")
    r = http.head(blob_url(repo_name, missing))
    assert r.status_code == 404
    assert r.content == b""


def test_get_blob_in_unknown_repository(http: httpx.Client) -> None:
    missing = sha256_digest(b"missing blob in missing repo")
    r = http.get(blob_url("never/pushed-blobs", missing))
    assert_error(r, 404, "BLOB_UNKNOWN", "NAME_UNKNOWN")


def test_blob_is_scoped_to_its_repository(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    # Access to a blob is gated by the repository name: another repository must not serve it.
    other = repo_name + "-other"
    push_blob(http, other, b"something else in the other repo " + repo_name.encode())
    r = http.get(blob_url(other, sha256_digest(blob)))
    assert_error(r, 404, "BLOB_UNKNOWN")


def test_get_blob_malformed_digest(http: httpx.Client, repo_name: str, blob: bytes) -> None:
    r = http.get(blob_url(repo_name, "sha256:abc"))
    assert_error(r, {400, 404}, "DIGEST_INVALID", "BLOB_UNKNOWN")


def test_get_empty_blob(http: httpx.Client, repo_name: str) -> None:
    digest = push_blob(http, repo_name, b"")
    r = http.get(blob_url(repo_name, digest))
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["docker-content-digest"] == digest
    assert r.headers["content-length"] == "0"
