"""sha512 content everywhere: blobs, manifests, tags, indexes, referrers and deletes.

sha512 is the OCI image spec's second registered digest algorithm; a client chooses it by
naming a sha512 digest when it uploads a blob or pushes a manifest by digest, and a registry
then stores and serves that content under that digest like any other.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.oci.helpers import (
    assert_error,
    blob_url,
    dockyard_only,
    finish_upload,
    manifest_url,
    parse_range,
    patch_chunk,
    random_bytes,
    sha512_digest,
    start_upload,
    tag_header_values,
    upload_location,
)
from tests.support.images import (
    EMPTY_JSON,
    MANIFEST_ACCEPT,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    add_query,
)

NO_SHA512_MANIFESTS = (
    "distribution 2.8 hashes every pushed manifest with sha256 and refuses a sha512 reference; "
    "it has no referrers API either"
)


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha512_digest(data), "size": len(data)}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _push_blob_sha512(client: httpx.Client, repo: str, data: bytes) -> str:
    """POST ?digest=sha512:... with the body (a 202 gets the body again with the PUT)."""
    digest = sha512_digest(data)
    r = client.post(
        f"/v2/{repo}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if r.status_code == 202:
        r = finish_upload(client, upload_location(client, r), digest, data)
    assert r.status_code == 201, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["docker-content-digest"] == digest
    return digest


def _put_manifest(
    client: httpx.Client,
    repo: str,
    manifest: bytes,
    media_type: str,
    tags: tuple[str, ...] = (),
) -> httpx.Response:
    r = client.put(
        manifest_url(repo, sha512_digest(manifest)),
        params=[("tag", t) for t in tags],
        content=manifest,
        headers={"Content-Type": media_type},
    )
    assert r.status_code == 201, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["docker-content-digest"] == sha512_digest(manifest)
    return r


def _assert_blob_served(client: httpx.Client, repo: str, data: bytes) -> None:
    digest = sha512_digest(data)
    head = client.head(blob_url(repo, digest))
    assert head.status_code == 200, head.status_code
    assert head.headers["docker-content-digest"] == digest
    assert int(head.headers["content-length"]) == len(data)
    got = client.get(blob_url(repo, digest))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["docker-content-digest"] == digest


@dockyard_only(
    "distribution 2.8 answers its own sha256 digest for a blob uploaded as sha512 "
    "(the spec: the digest the client provided)"
)
def test_sha512_blobs_monolithic_chunked_and_deleted(http: httpx.Client, repo_name: str) -> None:
    whole = random_bytes(5000, f"whole {repo_name}")
    _push_blob_sha512(http, repo_name, whole)
    _assert_blob_served(http, repo_name, whole)

    chunked = random_bytes(12_000, f"chunked {repo_name}")
    _, location = start_upload(http, repo_name)
    r = patch_chunk(http, location, chunked[:7000], 0)
    assert r.status_code == 202, r.text[:300]
    assert parse_range(r.headers.get("range")) == (0, 6999)
    r = finish_upload(http, upload_location(http, r), sha512_digest(chunked), chunked[7000:])
    assert r.status_code == 201, r.text[:300]
    assert r.headers["docker-content-digest"] == sha512_digest(chunked)
    _assert_blob_served(http, repo_name, chunked)

    # The sha256 name of the same bytes is another digest, which was never uploaded.
    r = http.head(blob_url(repo_name, "sha256:" + "0" * 64))
    assert r.status_code == 404

    r = http.delete(blob_url(repo_name, sha512_digest(whole)))
    assert r.status_code == 202, r.text[:300]
    assert http.head(blob_url(repo_name, sha512_digest(whole))).status_code == 404
    _assert_blob_served(http, repo_name, chunked)


@dockyard_only(NO_SHA512_MANIFESTS)
def test_sha512_blob_with_wrong_content_is_refused(http: httpx.Client, repo_name: str) -> None:
    data = random_bytes(3000, repo_name)
    wrong = sha512_digest(data + b"!")
    r = http.post(f"/v2/{repo_name}/blobs/uploads/", params={"digest": wrong}, content=data)
    assert_error(r, 400, "DIGEST_INVALID")
    assert http.head(blob_url(repo_name, wrong)).status_code == 404


@dockyard_only(NO_SHA512_MANIFESTS)
def test_sha512_manifests_tags_index_referrers_and_deletes(
    http: httpx.Client, repo_name: str
) -> None:
    config = _json({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}})
    layer = random_bytes(4000, f"layer {repo_name}")
    _push_blob_sha512(http, repo_name, config)
    _push_blob_sha512(http, repo_name, layer)
    image = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER_TAR, layer)],
        }
    )
    image_digest = sha512_digest(image)

    # Pushed by its sha512 digest, with two tags.
    r = _put_manifest(http, repo_name, image, OCI_MANIFEST, tags=("v1", "stable"))
    assert sorted(tag_header_values(r)) == ["stable", "v1"]
    assert r.headers["location"].endswith(f"/manifests/{image_digest}")
    for reference in (image_digest, "v1", "stable"):
        got = http.get(manifest_url(repo_name, reference), headers={"Accept": MANIFEST_ACCEPT})
        assert got.status_code == 200, f"{reference}: {got.status_code} {got.text[:200]}"
        assert got.content == image
        assert got.headers["docker-content-digest"] == image_digest
        head = http.head(manifest_url(repo_name, reference), headers={"Accept": MANIFEST_ACCEPT})
        assert head.status_code == 200
        assert head.headers["docker-content-digest"] == image_digest

    # An index naming it by its sha512 digest.
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [_descriptor(OCI_MANIFEST, image)],
        }
    )
    _put_manifest(http, repo_name, index, OCI_INDEX, tags=("multi",))

    # A referrer whose subject is the sha512 image, itself pushed by its sha512 digest.
    _push_blob_sha512(http, repo_name, EMPTY_JSON)
    sbom = b"sbom of " + image_digest.encode()
    _push_blob_sha512(http, repo_name, sbom)
    referrer = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom.v1",
            "config": _descriptor(OCI_EMPTY, EMPTY_JSON),
            "layers": [_descriptor("application/vnd.example.sbom.v1", sbom)],
            "subject": _descriptor(OCI_MANIFEST, image),
        }
    )
    r = _put_manifest(http, repo_name, referrer, OCI_MANIFEST)
    assert r.headers.get("oci-subject") == image_digest
    r = http.get(f"/v2/{repo_name}/referrers/{image_digest}")
    assert r.status_code == 200, r.text[:300]
    assert [(d["digest"], d["artifactType"]) for d in r.json()["manifests"]] == [
        (sha512_digest(referrer), "application/vnd.example.sbom.v1")
    ]

    # Deletes by tag and by sha512 digest.
    assert http.delete(manifest_url(repo_name, "stable")).status_code == 202
    assert http.get(f"/v2/{repo_name}/tags/list").json()["tags"] == ["multi", "v1"]
    assert http.delete(manifest_url(repo_name, sha512_digest(referrer))).status_code == 202
    r = http.get(f"/v2/{repo_name}/referrers/{image_digest}")
    assert r.status_code == 200
    assert r.json()["manifests"] == []
    # The index still holds the image; once the index goes, the image can go too.
    assert http.delete(manifest_url(repo_name, image_digest)).status_code == 409
    assert http.delete(manifest_url(repo_name, sha512_digest(index))).status_code == 202
    assert http.delete(manifest_url(repo_name, image_digest)).status_code == 202
    r = http.get(manifest_url(repo_name, "v1"), headers={"Accept": MANIFEST_ACCEPT})
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    r = http.get(manifest_url(repo_name, image_digest), headers={"Accept": MANIFEST_ACCEPT})
    assert_error(r, 404, "MANIFEST_UNKNOWN")
    assert http.get(f"/v2/{repo_name}/tags/list").json()["tags"] == []
    _assert_blob_served(http, repo_name, layer)
    assert http.delete(blob_url(repo_name, sha512_digest(layer))).status_code == 202
    assert http.head(blob_url(repo_name, sha512_digest(layer))).status_code == 404
    # The upload session can also be closed with a sha512 digest after a PUT of the whole body.
    data = random_bytes(1000, f"put {repo_name}")
    _, location = start_upload(http, repo_name)
    r = http.put(add_query(location, digest=sha512_digest(data)), content=data)
    assert r.status_code == 201, r.text[:300]
    _assert_blob_served(http, repo_name, data)
