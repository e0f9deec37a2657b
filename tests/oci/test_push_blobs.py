"""Push blobs: single POST, POST+PUT, chunked PATCH uploads, status, cancel, mount, delete."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from tests.conftest import Registry
from tests.oci.helpers import (
    assert_error,
    blob_url,
    dockyard_only,
    finish_upload,
    parse_range,
    patch_chunk,
    random_bytes,
    sha256_digest,
    start_upload,
    upload_location,
)
from tests.support.images import add_query, push_blob


def _assert_blob_stored(client: httpx.Client, repo: str, data: bytes) -> None:
    digest = sha256_digest(data)
    r = client.get(blob_url(repo, digest))
    assert r.status_code == 200, f"blob {digest} not stored: {r.status_code}"
    assert r.content == data
    assert r.headers["docker-content-digest"] == digest


def _assert_blob_absent(client: httpx.Client, repo: str, digest: str) -> None:
    r = client.head(blob_url(repo, digest))
    assert r.status_code == 404, f"blob {digest} should not exist, HEAD -> {r.status_code}"


def _assert_created(client: httpx.Client, r: httpx.Response, repo: str, data: bytes) -> None:
    """A 201 for a finished blob upload: Location is pullable, digest header is right."""
    digest = sha256_digest(data)
    assert r.status_code == 201, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["docker-content-digest"] == digest
    location = upload_location(client, r)
    got = client.get(location)
    assert got.status_code == 200
    assert got.content == data


# --- monolithic -----------------------------------------------------------------------------
def test_single_post_upload(http: httpx.Client, repo_name: str) -> None:
    """POST ?digest= with the body: 201, or (registries without single POST) 202 then PUT."""
    data = random_bytes(3000, repo_name)
    digest = sha256_digest(data)
    r = http.post(
        f"/v2/{repo_name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code in (201, 202), r.text[:300]
    if r.status_code == 202:
        r = finish_upload(http, upload_location(http, r), digest, data)
    _assert_created(http, r, repo_name, data)


@dockyard_only("distribution 2.8 does not implement single-POST uploads (spec: MAY, 202 fallback)")
def test_single_post_upload_creates_blob(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(3000, repo_name)
    digest = sha256_digest(data)
    r = http.post(
        f"/v2/{repo_name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    _assert_created(http, r, repo_name, data)


@dockyard_only("distribution 2.8 ignores ?digest= on POST, so it cannot reject a wrong one")
def test_single_post_wrong_digest(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(3000, repo_name)
    wrong = sha256_digest(b"not the content")
    r = http.post(
        f"/v2/{repo_name}/blobs/uploads/",
        params={"digest": wrong},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_error(r, 400, "DIGEST_INVALID")
    _assert_blob_absent(http, repo_name, wrong)
    _assert_blob_absent(http, repo_name, sha256_digest(data))


@dockyard_only("distribution 2.8 ignores ?digest= on POST, so it cannot reject a malformed one")
@pytest.mark.parametrize("bad", ["foo", "sha256:zzz", "sha256:abc", "md5:" + "0" * 32])
def test_single_post_malformed_digest(http: httpx.Client, repo_name: str, bad: str) -> None:
    r = http.post(
        f"/v2/{repo_name}/blobs/uploads/",
        params={"digest": bad},
        content=b"payload",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_error(r, 400, "DIGEST_INVALID", "UNSUPPORTED")


def test_start_upload_session(http: httpx.Client, repo_name: str) -> None:
    r, location = start_upload(http, repo_name)
    assert r.status_code == 202
    assert location
    # Not in the OCI spec, but part of the Docker Registry HTTP API V2 that clients rely on.
    session = r.headers.get("docker-upload-uuid")
    assert session, "missing Docker-Upload-UUID"
    assert session in location
    # The spec does not define Range for an empty session; distribution answers "0-0".
    assert r.headers.get("range") in (None, "0-0", "bytes=0-0")
    assert r.headers.get("content-length", "0") == "0"


def test_post_then_put_upload(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(5000, repo_name)
    _, location = start_upload(http, repo_name)
    r = finish_upload(http, location, sha256_digest(data), data)
    _assert_created(http, r, repo_name, data)
    r = http.head(blob_url(repo_name, sha256_digest(data)))
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(data)


def test_put_wrong_digest_is_rejected_and_not_stored(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(4000, repo_name)
    wrong = sha256_digest(data + b"x")
    _, location = start_upload(http, repo_name)
    r = finish_upload(http, location, wrong, data)
    assert_error(r, 400, "DIGEST_INVALID")
    _assert_blob_absent(http, repo_name, wrong)
    _assert_blob_absent(http, repo_name, sha256_digest(data))


@pytest.mark.parametrize("bad", ["foo", "sha256:zz", "sha256:" + "0" * 63])
def test_put_malformed_digest(http: httpx.Client, repo_name: str, bad: str) -> None:
    _, location = start_upload(http, repo_name)
    r = finish_upload(http, location, bad, b"lm")
    assert_error(r, 400, "DIGEST_INVALID")


def test_put_without_digest(http: httpx.Client, repo_name: str) -> None:
    # The closing PUT MUST carry ?digest=; without it the upload is not complete.
    _, location = start_upload(http, repo_name)
    r = http.put(location, content=b"abc", headers={"Content-Type": "application/octet-stream"})
    assert_error(r, 400, "DIGEST_INVALID", "BLOB_UPLOAD_INVALID")
    _assert_blob_absent(http, repo_name, sha256_digest(b"abc"))


def test_empty_blob_upload(http: httpx.Client, repo_name: str) -> None:
    _, location = start_upload(http, repo_name)
    r = finish_upload(http, location, sha256_digest(b""), b"")
    _assert_created(http, r, repo_name, b"")


# --- chunked --------------------------------------------------------------------------------
def test_chunked_upload(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(30_000, repo_name)
    chunks = [data[:10_000], data[10_000:25_000], data[25_000:]]
    r, location = start_upload(http, repo_name)
    session = r.headers.get("docker-upload-uuid")
    offset = 0
    for chunk in chunks:
        r = patch_chunk(http, location, chunk, offset)
        assert r.status_code == 202, r.text[:300]
        offset += len(chunk)
        assert parse_range(r.headers.get("range")) == (0, offset - 1)
        assert r.headers.get("content-length", "0") == "0"
        if session:
            assert r.headers.get("docker-upload-uuid") == session
        location = upload_location(http, r)

    status = http.get(location)
    assert status.status_code == 204
    assert parse_range(status.headers.get("range")) == (0, len(data) - 1)
    location = upload_location(http, status)

    r = finish_upload(http, location, sha256_digest(data))
    _assert_created(http, r, repo_name, data)


def test_chunked_upload_final_chunk_in_put(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(12_000, repo_name)
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, data[:7000], 0)
    assert r.status_code == 202
    location = upload_location(http, r)
    last = data[7000:]
    r = http.put(
        add_query(location, digest=sha256_digest(data)),
        content=last,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(last)),
            "Content-Range": f"7000-{len(data) - 1}",
        },
    )
    _assert_created(http, r, repo_name, data)


def test_streamed_patch_without_content_range(http: httpx.Client, repo_name: str) -> None:
    # Docker's client streams one PATCH (chunked transfer encoding, no Content-Range).
    data = random_bytes(50_000, repo_name)

    def body():
        for i in range(0, len(data), 8192):
            yield data[i : i + 8192]

    _, location = start_upload(http, repo_name)
    r = http.patch(location, content=body(), headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text[:300]
    assert parse_range(r.headers.get("range")) == (0, len(data) - 1)
    r = finish_upload(http, upload_location(http, r), sha256_digest(data))
    _assert_created(http, r, repo_name, data)


def test_upload_status_of_fresh_session(http: httpx.Client, repo_name: str) -> None:
    _, location = start_upload(http, repo_name)
    r = http.get(location)
    assert r.status_code == 204
    assert r.content == b""
    assert upload_location(http, r)
    # Nothing uploaded yet: distribution (and the old Docker spec) say "0-0".
    assert r.headers.get("range") in (None, "0-0", "bytes=0-0")


def test_chunked_wrong_digest_is_rejected_and_not_stored(
    http: httpx.Client, repo_name: str
) -> None:
    data = random_bytes(9000, repo_name)
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, data[:4000], 0)
    location = upload_location(http, r)
    r = patch_chunk(http, location, data[4000:], 4000)
    location = upload_location(http, r)
    wrong = sha256_digest(data[:-1])
    r = finish_upload(http, location, wrong)
    assert_error(r, 400, "DIGEST_INVALID")
    _assert_blob_absent(http, repo_name, wrong)
    _assert_blob_absent(http, repo_name, sha256_digest(data))


@dockyard_only("distribution 2.8 ignores Content-Range on PATCH (no 416 for out-of-order chunks)")
def test_out_of_order_chunk_is_416(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(12_000, repo_name)
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, data[:4000], 0)
    assert r.status_code == 202
    location = upload_location(http, r)

    # A gap (starts past the end) and an overlap (starts before the end) are both refused.
    for start in (6000, 2000, 0):
        r = patch_chunk(http, location, data[start : start + 1000], start)
        assert r.status_code == 416, f"chunk at {start}: {r.status_code} {r.text[:200]}"
        if "range" in r.headers:
            assert parse_range(r.headers["range"]) == (0, 3999)

    # The session survives a 416: status still says 0-3999 and the upload can go on.
    status = http.get(location)
    assert status.status_code == 204
    assert parse_range(status.headers.get("range")) == (0, 3999)
    location = upload_location(http, status)
    r = patch_chunk(http, location, data[4000:], 4000)
    assert r.status_code == 202
    assert parse_range(r.headers.get("range")) == (0, len(data) - 1)
    r = finish_upload(http, upload_location(http, r), sha256_digest(data))
    _assert_created(http, r, repo_name, data)


@dockyard_only("distribution 2.8 ignores Content-Range on PATCH and PUT")
def test_misplaced_chunk_is_416_with_the_range_held_and_the_upload_goes_on(
    http: httpx.Client, repo_name: str
) -> None:
    # The spec: a chunk that does not start where the upload stands answers 416, with the
    # Range the registry holds, so the client can resume from there.
    data = random_bytes(9000, repo_name)
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, data[:3000], 0)
    assert r.status_code == 202, r.text[:300]
    location = upload_location(http, r)

    for start in (3001, 2999, 0):  # a gap, an overlap, a restart
        r = patch_chunk(http, location, data[start : start + 500], start)
        assert_error(r, 416, "BLOB_UPLOAD_INVALID")
        assert r.headers.get("range") == "0-2999", f"chunk at {start}: {r.headers}"
        assert upload_location(http, r)

    # The closing PUT may carry the last chunk: misplaced, it is refused the same way rather
    # than written at the wrong offset (which would fail the digest and lose the upload).
    r = http.put(
        add_query(location, digest=sha256_digest(data)),
        content=data[6000:],
        headers={"Content-Type": "application/octet-stream", "Content-Range": "6000-8999"},
    )
    assert_error(r, 416, "BLOB_UPLOAD_INVALID")
    assert r.headers.get("range") == "0-2999"

    # The upload is intact: a correct PATCH and a correct closing PUT with a chunk succeed.
    r = patch_chunk(http, location, data[3000:6000], 3000)
    assert r.status_code == 202, r.text[:300]
    assert r.headers.get("range") == "0-5999"
    r = http.put(
        add_query(upload_location(http, r), digest=sha256_digest(data)),
        content=data[6000:],
        headers={"Content-Type": "application/octet-stream", "Content-Range": "6000-8999"},
    )
    _assert_created(http, r, repo_name, data)


@dockyard_only("distribution 2.8 ignores Content-Range on PATCH")
@pytest.mark.parametrize("bad", ["abc", "5-2", "0-9", "-3"], ids=str)
def test_malformed_content_range(http: httpx.Client, repo_name: str, bad: str) -> None:
    # "0-9" is well formed but does not match the 4-byte body.
    _, location = start_upload(http, repo_name)
    r = http.patch(
        location,
        content=b"abcd",
        headers={"Content-Type": "application/octet-stream", "Content-Range": bad},
    )
    assert r.status_code in (400, 416), f"{bad!r}: {r.status_code} {r.text[:200]}"
    status = http.get(location)
    assert status.status_code == 204
    assert status.headers.get("range") in (None, "0-0", "bytes=0-0")


def test_cancel_upload(http: httpx.Client, repo_name: str) -> None:
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, b"some data", 0)
    location = upload_location(http, r)
    r = http.delete(location)
    assert r.status_code == 204
    assert_error(http.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(http, location, b"more", 9), 404, "BLOB_UPLOAD_UNKNOWN")
    r = finish_upload(http, location, sha256_digest(b"some data"))
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(http.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")
    _assert_blob_absent(http, repo_name, sha256_digest(b"some data"))


def test_session_is_gone_after_completion(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(100, repo_name)
    _, location = start_upload(http, repo_name)
    r = finish_upload(http, location, sha256_digest(data), data)
    assert r.status_code == 201
    assert_error(http.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(http, location, b"late", len(data)), 404, "BLOB_UPLOAD_UNKNOWN")


def test_unknown_upload_session(registry: Registry, http: httpx.Client, repo_name: str) -> None:
    push_blob(http, repo_name, b"make the repository exist")
    url = f"/v2/{repo_name}/blobs/uploads/{uuid.uuid4()}"
    # distribution 2.8 keeps session state in a signed `_state` query parameter; without it
    # it says BLOB_UPLOAD_INVALID. The spec's code for an unknown session is BLOB_UPLOAD_UNKNOWN.
    codes = ("BLOB_UPLOAD_UNKNOWN",)
    if registry.kind == "distribution":
        codes = ("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID")
    assert_error(http.get(url), 404, *codes)
    assert_error(patch_chunk(http, url, b"data", 0), 404, *codes)
    assert_error(finish_upload(http, url, sha256_digest(b"data"), b"data"), 404, *codes)


# --- cross-repository mount -----------------------------------------------------------------
def test_mount_existing_blob(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(2048, repo_name)
    digest = push_blob(http, repo_name, data)
    target = repo_name + "-mounted"
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": repo_name})
    assert r.status_code == 201, r.text[:300]
    assert r.headers["docker-content-digest"] == digest
    got = http.get(upload_location(http, r))
    assert got.status_code == 200
    assert got.content == data
    _assert_blob_stored(http, target, data)


def test_mount_missing_blob_falls_back_to_upload(http: httpx.Client, repo_name: str) -> None:
    push_blob(http, repo_name, b"source repository content")
    data = random_bytes(1024, repo_name)
    digest = sha256_digest(data)
    target = repo_name + "-mounted"
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": repo_name})
    assert r.status_code == 202, r.text[:300]
    location = upload_location(http, r)
    _assert_blob_absent(http, target, digest)
    # The 202 is an ordinary upload session.
    r = finish_upload(http, location, digest, data)
    _assert_created(http, r, target, data)


def test_mount_from_repository_without_the_blob(http: httpx.Client, repo_name: str) -> None:
    # The blob exists in the registry, but not in the repository named by `from`.
    data = random_bytes(1024, repo_name)
    digest = push_blob(http, repo_name, data)
    other = repo_name + "-other"
    push_blob(http, other, b"unrelated")
    target = repo_name + "-target"
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": other})
    assert r.status_code == 202, r.text[:300]
    assert upload_location(http, r)


def test_mount_from_unknown_repository(http: httpx.Client, repo_name: str) -> None:
    digest = sha256_digest(b"whatever")
    r = http.post(
        f"/v2/{repo_name}/blobs/uploads/", params={"mount": digest, "from": "never/pushed-mnt"}
    )
    assert r.status_code == 202, r.text[:300]
    assert upload_location(http, r)


@pytest.mark.parametrize("bad", ["sha256:abc", "sha384:" + "0" * 96], ids=["short", "sha384"])
def test_mount_of_a_malformed_digest_falls_back_to_upload(
    http: httpx.Client, repo_name: str, bad: str
) -> None:
    # Nothing can be mounted under such a digest: the spec's answer to a mount that cannot
    # happen is an ordinary upload session.
    push_blob(http, repo_name, b"source repository content")
    target = repo_name + "-target"
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": bad, "from": repo_name})
    assert r.status_code == 202, r.text[:300]
    data = random_bytes(700, repo_name)
    r = finish_upload(http, upload_location(http, r), sha256_digest(data), data)
    _assert_created(http, r, target, data)


def test_mount_without_from(http: httpx.Client, repo_name: str) -> None:
    # The registry MAY treat `from` as optional: 201 if it mounted, else a 202 session.
    data = random_bytes(512, repo_name)
    digest = push_blob(http, repo_name, data)
    target = repo_name + "-nofrom"
    r = http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest})
    assert r.status_code in (201, 202), r.text[:300]
    if r.status_code == 201:
        _assert_blob_stored(http, target, data)
    else:
        assert upload_location(http, r)


# --- repositories and deletion --------------------------------------------------------------
def test_push_creates_repository(http: httpx.Client, repo_name: str) -> None:
    r = http.get(f"/v2/{repo_name}/tags/list")
    assert_error(r, 404, "NAME_UNKNOWN")
    data = random_bytes(100, repo_name)
    push_blob(http, repo_name, data)
    _assert_blob_stored(http, repo_name, data)


def test_delete_blob(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(1000, repo_name)
    digest = push_blob(http, repo_name, data)
    r = http.delete(blob_url(repo_name, digest))
    assert r.status_code == 202, r.text[:300]
    _assert_blob_absent(http, repo_name, digest)
    assert_error(http.get(blob_url(repo_name, digest)), 404, "BLOB_UNKNOWN")
    assert_error(http.delete(blob_url(repo_name, digest)), 404, "BLOB_UNKNOWN")


def test_delete_unknown_blob(http: httpx.Client, repo_name: str) -> None:
    push_blob(http, repo_name, b"exists")
    r = http.delete(blob_url(repo_name, sha256_digest(b"never uploaded")))
    assert_error(r, 404, "BLOB_UNKNOWN")


def test_delete_blob_in_one_repository_keeps_the_other(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(700, repo_name)
    digest = push_blob(http, repo_name, data)
    other = repo_name + "-keep"
    push_blob(http, other, data)
    assert http.delete(blob_url(repo_name, digest)).status_code == 202
    _assert_blob_absent(http, repo_name, digest)
    _assert_blob_stored(http, other, data)


def test_reupload_after_delete(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(700, repo_name)
    digest = push_blob(http, repo_name, data)
    assert http.delete(blob_url(repo_name, digest)).status_code == 202
    push_blob(http, repo_name, data, monolithic_post=False)
    _assert_blob_stored(http, repo_name, data)


def test_upload_session_belongs_to_its_repository(
    registry: Registry, http: httpx.Client, repo_name: str
) -> None:
    # A session opened for one repository cannot be used through another repository's URL.
    data = random_bytes(1000, repo_name)
    _, location = start_upload(http, repo_name)
    other = repo_name + "-thief"
    push_blob(http, other, b"the other repository exists")
    stolen = location.replace(f"/v2/{repo_name}/", f"/v2/{other}/", 1)
    assert stolen != location
    codes = ("BLOB_UPLOAD_UNKNOWN",)
    if registry.kind == "distribution":
        codes = ("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID")  # its signed _state names a repo
    assert_error(finish_upload(http, stolen, sha256_digest(data), data), 404, *codes)
    _assert_blob_absent(http, other, sha256_digest(data))
    # The session itself is untouched and still completes in its own repository.
    r = finish_upload(http, location, sha256_digest(data), data)
    _assert_created(http, r, repo_name, data)


def test_concurrent_uploads_of_the_same_blob(registry: Registry, repo_name: str) -> None:
    data = random_bytes(200_000, repo_name)
    digest = sha256_digest(data)
    results: list[int] = []

    def upload() -> None:
        with httpx.Client(base_url=registry.url, timeout=30) as c:
            _, location = start_upload(c, repo_name)
            results.append(finish_upload(c, location, digest, data).status_code)

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [201] * 4
    with httpx.Client(base_url=registry.url, timeout=30) as c:
        _assert_blob_stored(c, repo_name, data)
