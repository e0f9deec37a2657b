"""Push manifests (by tag, by digest), media types, validation errors, and deletion."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import Registry
from tests.oci.helpers import (
    assert_error,
    blob_url,
    digest_of,
    dockyard_only,
    get_manifest,
    head_manifest,
    manifest_url,
    put_manifest,
    sha256_digest,
    tag_header_values,
    upload_location,
)
from tests.support.images import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Image,
    canonical_json,
    make_image,
    make_index,
    make_layer,
    make_manifest,
    make_multiarch_index,
    push_blob,
    push_image,
    push_manifest,
)


def _assert_put_created(
    client: httpx.Client, r: httpx.Response, repo: str, manifest: bytes, media_type: str
) -> None:
    """201, Location is pullable and serves the exact bytes, digest header is right."""
    digest = sha256_digest(manifest)
    assert r.status_code == 201, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["docker-content-digest"] == digest
    got = client.get(upload_location(client, r), headers={"Accept": media_type})
    assert got.status_code == 200
    assert got.content == manifest


def _assert_served(
    client: httpx.Client, repo: str, reference: str, manifest: bytes, media_type: str
) -> None:
    r = get_manifest(client, repo, reference)
    assert r.status_code == 200, f"GET {reference}: {r.status_code} {r.text[:300]}"
    assert r.content == manifest
    assert r.headers["content-type"].split(";")[0].strip() == media_type
    assert r.headers["docker-content-digest"] == sha256_digest(manifest)
    assert int(r.headers["content-length"]) == len(manifest)


def _push_blobs(client: httpx.Client, repo: str, img: Image) -> None:
    for b in img.blobs:
        push_blob(client, repo, b)


def _tags(client: httpx.Client, repo: str) -> list[str]:
    r = client.get(f"/v2/{repo}/tags/list")
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["name"] == repo
    return list(body.get("tags") or [])


# --- pushing --------------------------------------------------------------------------------
def test_put_manifest_by_tag(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=2)
    _push_blobs(http, repo_name, img)
    r = put_manifest(http, repo_name, "v1", img.manifest.data)
    _assert_put_created(http, r, repo_name, img.manifest.data, OCI_MANIFEST)
    _assert_served(http, repo_name, "v1", img.manifest.data, OCI_MANIFEST)
    _assert_served(http, repo_name, img.digest, img.manifest.data, OCI_MANIFEST)
    assert _tags(http, repo_name) == ["v1"]


def test_put_manifest_by_digest(registry: Registry, http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = put_manifest(http, repo_name, img.digest, img.manifest.data)
    _assert_put_created(http, r, repo_name, img.manifest.data, OCI_MANIFEST)
    _assert_served(http, repo_name, img.digest, img.manifest.data, OCI_MANIFEST)
    # Pushing by digest creates no tag.
    r = http.get(f"/v2/{repo_name}/tags/list")
    if registry.kind == "distribution" and r.status_code == 404:
        # distribution 2.8 says NAME_UNKNOWN for a repository that has never had a tag.
        assert_error(r, 404, "NAME_UNKNOWN")
    else:
        assert r.status_code == 200
        assert (r.json().get("tags") or []) == []


def test_put_manifest_by_wrong_digest(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    wrong = sha256_digest(img.manifest.data + b" ")
    r = put_manifest(http, repo_name, wrong, img.manifest.data)
    assert_error(r, 400, "DIGEST_INVALID")
    assert_error(get_manifest(http, repo_name, wrong), 404, "MANIFEST_UNKNOWN")
    assert_error(get_manifest(http, repo_name, img.digest), 404, "MANIFEST_UNKNOWN")


# --- several tags with one push by digest (?tag=) ----------------------------------------
TAG_PARAMETERS = "distribution 2.8 predates the ?tag= parameters of a push by digest"


def _put_with_tags(
    client: httpx.Client, repo: str, reference: str, manifest: bytes, tags: list[str]
) -> httpx.Response:
    return client.put(
        manifest_url(repo, reference),
        params=[("tag", t) for t in tags],
        content=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )


@dockyard_only(TAG_PARAMETERS)
@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_put_by_digest_with_tag_parameters(
    http: httpx.Client, repo_name: str, algorithm: str
) -> None:
    # The spec: a push by digest MAY carry `tag` query parameters, and a registry that takes
    # them answers one OCI-Tag value per tag it set. For a sha512 manifest this is the only
    # way to tag it (a push by tag names no algorithm, so it is hashed with sha256).
    img = make_image(f"tagq/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    digest = digest_of(img.manifest.data, algorithm)
    tags = ["v1.2.3", "v1.2", "latest"]
    r = _put_with_tags(http, repo_name, digest, img.manifest.data, tags)
    assert r.status_code == 201, r.text[:300]
    assert r.headers["docker-content-digest"] == digest
    assert sorted(tag_header_values(r)) == sorted(tags)
    assert _tags(http, repo_name) == sorted(tags)
    for tag in tags:
        got = get_manifest(http, repo_name, tag)
        assert got.status_code == 200, f"{tag}: {got.status_code} {got.text[:200]}"
        assert got.content == img.manifest.data
        assert got.headers["docker-content-digest"] == digest

    # A second push moves the tags it names and leaves the others alone.
    other = make_image(f"tagq2/{repo_name}", layers=1)
    _push_blobs(http, repo_name, other)
    other_digest = digest_of(other.manifest.data, algorithm)
    r = _put_with_tags(http, repo_name, other_digest, other.manifest.data, ["latest", "next"])
    assert r.status_code == 201, r.text[:300]
    assert sorted(tag_header_values(r)) == ["latest", "next"]
    assert _tags(http, repo_name) == ["latest", "next", "v1.2", "v1.2.3"]
    assert get_manifest(http, repo_name, "latest").headers["docker-content-digest"] == other_digest
    assert get_manifest(http, repo_name, "v1.2").headers["docker-content-digest"] == digest


@dockyard_only(TAG_PARAMETERS)
def test_tag_parameters_are_set_all_or_none(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"tagq/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = _put_with_tags(http, repo_name, img.digest, img.manifest.data, ["good", ".bad"])
    assert_error(r, 400, "TAG_INVALID", "MANIFEST_INVALID")
    # Refused as a whole: neither the manifest nor the valid tag was stored.
    assert_error(get_manifest(http, repo_name, img.digest), 404, "MANIFEST_UNKNOWN")
    assert _tags(http, repo_name) == []


@dockyard_only(TAG_PARAMETERS)
def test_put_by_tag_with_tag_parameters_sets_every_tag(http: httpx.Client, repo_name: str) -> None:
    # Dockyard's reading of ?tag= on a push by tag: the path's tag and the parameters alike.
    img = make_image(f"tagq/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = _put_with_tags(http, repo_name, "v1", img.manifest.data, ["v1.0", "stable"])
    assert r.status_code == 201, r.text[:300]
    assert sorted(tag_header_values(r)) == ["stable", "v1.0"]
    assert _tags(http, repo_name) == ["stable", "v1", "v1.0"]


def test_manifest_bytes_are_stored_exactly(http: httpx.Client, repo_name: str) -> None:
    # The registry MUST store the manifest in the exact byte representation provided.
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    pretty = json.dumps(json.loads(img.manifest.data), indent=3).encode() + b"\n"
    assert pretty != img.manifest.data
    r = put_manifest(http, repo_name, "pretty", pretty)
    _assert_put_created(http, r, repo_name, pretty, OCI_MANIFEST)
    _assert_served(http, repo_name, "pretty", pretty, OCI_MANIFEST)


def test_retag_moves_the_tag(http: httpx.Client, repo_name: str) -> None:
    first = make_image(f"m1/{repo_name}", layers=1)
    second = make_image(f"m2/{repo_name}", layers=1)
    push_image(http, repo_name, first, tag="latest")
    push_image(http, repo_name, second, tag="latest")
    _assert_served(http, repo_name, "latest", second.manifest.data, OCI_MANIFEST)
    # The previous manifest stays reachable by digest.
    _assert_served(http, repo_name, first.digest, first.manifest.data, OCI_MANIFEST)


def test_push_same_manifest_twice_is_idempotent(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="a")
    r = put_manifest(http, repo_name, "a", img.manifest.data)
    assert r.status_code == 201
    assert r.headers["docker-content-digest"] == img.digest
    r = put_manifest(http, repo_name, "b", img.manifest.data)
    assert r.status_code == 201
    assert sorted(_tags(http, repo_name)) == ["a", "b"]


def test_manifest_with_missing_layer(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=2)
    push_blob(http, repo_name, img.config)
    push_blob(http, repo_name, img.layers[0])  # layers[1] is never pushed
    r = put_manifest(http, repo_name, "broken", img.manifest.data)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(get_manifest(http, repo_name, "broken"), 404, "MANIFEST_UNKNOWN")
    assert_error(get_manifest(http, repo_name, img.digest), 404, "MANIFEST_UNKNOWN")


def test_manifest_with_missing_config(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=1)
    push_blob(http, repo_name, img.layers[0])
    r = put_manifest(http, repo_name, "broken", img.manifest.data)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(get_manifest(http, repo_name, "broken"), 404, "MANIFEST_UNKNOWN")


def test_manifest_blob_in_another_repository_only(http: httpx.Client, repo_name: str) -> None:
    # Blobs are linked per repository: a blob pushed elsewhere does not satisfy a manifest.
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name + "-elsewhere", img)
    push_blob(http, repo_name, img.config)
    r = put_manifest(http, repo_name, "v1", img.manifest.data)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_index_with_missing_child_manifest(http: httpx.Client, repo_name: str) -> None:
    # v1.1 "Push": a manifest rejected for referencing missing manifests or blobs "MUST result
    # in one or more MANIFEST_BLOB_UNKNOWN errors" -- so MANIFEST_UNKNOWN is not accepted here.
    multi = make_multiarch_index(f"m/{repo_name}")
    first = multi.images[0]
    _push_blobs(http, repo_name, first)
    push_manifest(http, repo_name, first.digest, first.manifest)  # images[1] is missing
    r = put_manifest(http, repo_name, "multi", multi.index.data, OCI_INDEX)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(get_manifest(http, repo_name, "multi"), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2, 3]", b"\xff\xfe\x00"],
    ids=["truncated", "empty", "array", "binary"],
)
def test_invalid_manifest_json(http: httpx.Client, repo_name: str, body: bytes) -> None:
    push_blob(http, repo_name, b"repository exists")
    r = put_manifest(http, repo_name, "bad", body)
    assert_error(r, 400, "MANIFEST_INVALID")
    assert_error(get_manifest(http, repo_name, "bad"), 404, "MANIFEST_UNKNOWN")


def _structurally_invalid(img: Image, case: str) -> bytes:
    doc = json.loads(img.manifest.data)
    if case == "layers-not-a-list":
        doc["layers"] = "nope"
    elif case == "body-mediatype-differs":
        doc["mediaType"] = DOCKER_MANIFEST  # sent with Content-Type: OCI manifest
    elif case == "json-string":
        doc = "a manifest"
    elif case == "no-config":
        del doc["config"]
    elif case == "schema-version-1":
        doc["schemaVersion"] = 1
    elif case == "schema-version-3":
        doc["schemaVersion"] = 3
    elif case == "malformed-layer-digest":
        doc["layers"][0]["digest"] = "sha256:xyz"
    return json.dumps(doc).encode()


@pytest.mark.parametrize("case", ["layers-not-a-list", "body-mediatype-differs", "json-string"])
def test_structurally_invalid_manifest(http: httpx.Client, repo_name: str, case: str) -> None:
    img = make_image(f"inv/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = put_manifest(http, repo_name, "bad", _structurally_invalid(img, case))
    assert_error(r, 400, "MANIFEST_INVALID")
    assert_error(get_manifest(http, repo_name, "bad"), 404, "MANIFEST_UNKNOWN")


@dockyard_only("distribution 2.8 answers 500, or DIGEST_INVALID + MANIFEST_BLOB_UNKNOWN, here")
@pytest.mark.parametrize(
    "case", ["no-config", "schema-version-1", "schema-version-3", "malformed-layer-digest"]
)
def test_structurally_invalid_manifest_strict(
    http: httpx.Client, repo_name: str, case: str
) -> None:
    img = make_image(f"inv/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = put_manifest(http, repo_name, "bad", _structurally_invalid(img, case))
    assert_error(r, 400, "MANIFEST_INVALID")
    assert_error(get_manifest(http, repo_name, "bad"), 404, "MANIFEST_UNKNOWN")


def test_content_type_parameters_are_ignored(http: httpx.Client, repo_name: str) -> None:
    # "The registry SHOULD ignore parameters on the Content-Type header."
    img = make_image(f"ct/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    r = put_manifest(http, repo_name, "v1", img.manifest.data, OCI_MANIFEST + "; charset=utf-8")
    _assert_put_created(http, r, repo_name, img.manifest.data, OCI_MANIFEST)
    _assert_served(http, repo_name, "v1", img.manifest.data, OCI_MANIFEST)


def test_manifest_over_4_mib_is_refused(http: httpx.Client, repo_name: str) -> None:
    # v1.1: a registry SHOULD limit manifest size, SHOULD answer 413 over the limit, and
    # SHOULD accept at least 4 MB. distribution 2.8 answers 400 MANIFEST_INVALID ("http:
    # request body too large") above 4 MiB. Both forms are accepted.
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    doc = json.loads(img.manifest.data)
    doc["annotations"] = {"pad": "x" * (4 * 1024 * 1024 + 100)}
    body = canonical_json(doc)
    r = put_manifest(http, repo_name, "huge", body)
    assert r.status_code in (400, 413), f"{r.status_code}: {r.text[:300]}"
    if r.status_code == 400:
        assert_error(r, 400, "MANIFEST_INVALID", "SIZE_INVALID")
    assert get_manifest(http, repo_name, "huge").status_code == 404
    assert get_manifest(http, repo_name, sha256_digest(body)).status_code == 404


def test_manifest_of_3_mib_is_accepted(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"m/{repo_name}", layers=1)
    _push_blobs(http, repo_name, img)
    doc = json.loads(img.manifest.data)
    doc["annotations"] = {"pad": "y" * (3 * 1024 * 1024)}
    body = canonical_json(doc)
    r = put_manifest(http, repo_name, "big", body)
    assert r.status_code == 201, f"{r.status_code}: {r.text[:300]}"
    _assert_served(http, repo_name, "big", body, OCI_MANIFEST)


def test_subject_may_reference_a_missing_manifest(http: httpx.Client, repo_name: str) -> None:
    # v1.1: a registry MUST accept a manifest whose `subject` does not exist (yet).
    empty = Blob(OCI_EMPTY, EMPTY_JSON)
    layer = make_layer(f"sig/{repo_name}", files=1, media_type="application/vnd.example.sig")
    push_blob(http, repo_name, empty)
    push_blob(http, repo_name, layer)
    subject = {"mediaType": OCI_MANIFEST, "digest": sha256_digest(b"absent"), "size": 6}
    art = make_manifest(empty, [layer], subject=subject, artifact_type="application/vnd.ex.sig")
    r = put_manifest(http, repo_name, art.digest, art.data)
    _assert_put_created(http, r, repo_name, art.data, OCI_MANIFEST)


# --- media types ----------------------------------------------------------------------------
def test_oci_image_manifest(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"mt/{repo_name}", layers=2)
    push_image(http, repo_name, img, tag="oci")
    _assert_served(http, repo_name, "oci", img.manifest.data, OCI_MANIFEST)


def test_oci_image_index(http: httpx.Client, repo_name: str) -> None:
    multi = make_multiarch_index(f"mt/{repo_name}")
    push_image(http, repo_name, multi, tag="multi")
    _assert_served(http, repo_name, "multi", multi.index.data, OCI_INDEX)
    for child in multi.images:
        _assert_served(http, repo_name, child.digest, child.manifest.data, OCI_MANIFEST)
    r = head_manifest(http, repo_name, "multi")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0].strip() == OCI_INDEX
    assert r.headers["docker-content-digest"] == multi.digest


def test_docker_schema2_manifest(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"mt/{repo_name}", layers=2, docker=True)
    push_image(http, repo_name, img, tag="docker")
    _assert_served(http, repo_name, "docker", img.manifest.data, DOCKER_MANIFEST)
    _assert_served(http, repo_name, img.digest, img.manifest.data, DOCKER_MANIFEST)


def test_docker_manifest_list(http: httpx.Client, repo_name: str) -> None:
    multi = make_multiarch_index(f"mt/{repo_name}", docker=True)
    push_image(http, repo_name, multi, tag="list")
    _assert_served(http, repo_name, "list", multi.index.data, DOCKER_MANIFEST_LIST)
    for child in multi.images:
        _assert_served(http, repo_name, child.digest, child.manifest.data, DOCKER_MANIFEST)


def test_nested_index(http: httpx.Client, repo_name: str) -> None:
    multi = make_multiarch_index(f"mt/{repo_name}")
    push_image(http, repo_name, multi)
    outer = make_index([multi.index], annotations={"org.example": "nested"})
    r = put_manifest(http, repo_name, "outer", outer.data, OCI_INDEX)
    _assert_put_created(http, r, repo_name, outer.data, OCI_INDEX)
    _assert_served(http, repo_name, "outer", outer.data, OCI_INDEX)


def test_artifact_with_empty_config(http: httpx.Client, repo_name: str) -> None:
    empty = Blob(OCI_EMPTY, EMPTY_JSON)
    assert empty.digest == (
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    layer = Blob("application/vnd.example.sbom.v1+json", b'{"sbom": "content"}')
    push_blob(http, repo_name, empty)
    push_blob(http, repo_name, layer)
    art = make_manifest(
        empty,
        [layer],
        artifact_type="application/vnd.example.sbom.v1",
        annotations={"org.example.kind": "sbom"},
    )
    r = put_manifest(http, repo_name, "sbom", art.data)
    _assert_put_created(http, r, repo_name, art.data, OCI_MANIFEST)
    _assert_served(http, repo_name, "sbom", art.data, OCI_MANIFEST)
    got: dict[str, Any] = get_manifest(http, repo_name, "sbom").json()
    assert got["artifactType"] == "application/vnd.example.sbom.v1"
    assert got["config"]["mediaType"] == OCI_EMPTY


def test_artifact_with_no_layers(http: httpx.Client, repo_name: str) -> None:
    # "The list of blobs MAY be empty."
    empty = Blob(OCI_EMPTY, EMPTY_JSON)
    push_blob(http, repo_name, empty)
    art = make_manifest(empty, [], artifact_type="application/vnd.example.marker")
    r = put_manifest(http, repo_name, "marker", art.data)
    _assert_put_created(http, r, repo_name, art.data, OCI_MANIFEST)


def test_non_image_config_media_type(http: httpx.Client, repo_name: str) -> None:
    config = Blob("application/vnd.cncf.helm.config.v1+json", b'{"name":"chart","version":"1"}')
    chart = Blob("application/vnd.cncf.helm.chart.content.v1.tar+gzip", b"\x1f\x8bnot-really")
    push_blob(http, repo_name, config)
    push_blob(http, repo_name, chart)
    m = make_manifest(config, [chart])
    r = put_manifest(http, repo_name, "0.1.0", m.data)
    _assert_put_created(http, r, repo_name, m.data, OCI_MANIFEST)
    _assert_served(http, repo_name, "0.1.0", m.data, OCI_MANIFEST)


def test_manifest_with_uncompressed_layer_and_oci_config(
    http: httpx.Client, repo_name: str
) -> None:
    layer = make_layer(f"raw/{repo_name}", media_type="application/vnd.oci.image.layer.v1.tar")
    config = Blob(OCI_CONFIG, canonical_json({"architecture": "amd64", "os": "linux"}))
    push_blob(http, repo_name, layer)
    push_blob(http, repo_name, config)
    m = make_manifest(config, [layer])
    r = put_manifest(http, repo_name, "raw", m.data)
    _assert_put_created(http, r, repo_name, m.data, OCI_MANIFEST)


# --- deletion -------------------------------------------------------------------------------
def test_delete_manifest_by_digest(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"del/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="v1")
    push_manifest(http, repo_name, "v2", img.manifest)
    r = http.delete(manifest_url(repo_name, img.digest))
    assert r.status_code == 202, r.text[:300]
    assert_error(get_manifest(http, repo_name, img.digest), 404, "MANIFEST_UNKNOWN")
    assert head_manifest(http, repo_name, img.digest).status_code == 404
    # "Once deleted, a GET to ... any tag pointing to that digest will return a 404."
    assert_error(get_manifest(http, repo_name, "v1"), 404, "MANIFEST_UNKNOWN")
    assert_error(get_manifest(http, repo_name, "v2"), 404, "MANIFEST_UNKNOWN")
    assert _tags(http, repo_name) == []
    # Deleting a manifest does not delete its blobs.
    assert http.head(blob_url(repo_name, img.layers[0].digest)).status_code == 200
    # A second delete: the manifest is unknown now.
    assert_error(http.delete(manifest_url(repo_name, img.digest)), 404, "MANIFEST_UNKNOWN")


def test_delete_unknown_manifest(http: httpx.Client, repo_name: str) -> None:
    push_image(http, repo_name, make_image(f"del/{repo_name}", layers=1), tag="v1")
    r = http.delete(manifest_url(repo_name, sha256_digest(b"never pushed")))
    assert_error(r, 404, "MANIFEST_UNKNOWN")


def test_delete_manifest_in_unknown_repository(http: httpx.Client) -> None:
    r = http.delete(manifest_url("never/pushed-del", sha256_digest(b"never pushed")))
    assert_error(r, 404, "MANIFEST_UNKNOWN", "NAME_UNKNOWN")


@dockyard_only("distribution 2.8 has no tag deletion (400 DIGEST_INVALID, allowed by the spec)")
def test_delete_manifest_by_tag(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"del/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="v1")
    push_manifest(http, repo_name, "v2", img.manifest)
    r = http.delete(manifest_url(repo_name, "v1"))
    assert r.status_code == 202, r.text[:300]
    assert_error(get_manifest(http, repo_name, "v1"), 404, "MANIFEST_UNKNOWN")
    # Only the tag is gone: the manifest and its other tags stay.
    _assert_served(http, repo_name, img.digest, img.manifest.data, OCI_MANIFEST)
    _assert_served(http, repo_name, "v2", img.manifest.data, OCI_MANIFEST)
    assert _tags(http, repo_name) == ["v2"]
    assert_error(http.delete(manifest_url(repo_name, "v1")), 404, "MANIFEST_UNKNOWN")


def test_delete_tag_is_accepted_or_disabled(
    registry: Registry, http: httpx.Client, repo_name: str
) -> None:
    # Tag deletion MAY be disabled: then 400 or 405, and the tag must still resolve.
    img = make_image(f"del/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="v1")
    r = http.delete(manifest_url(repo_name, "v1"))
    assert r.status_code in (202, 400, 405), r.text[:300]
    if r.status_code == 202:
        assert get_manifest(http, repo_name, "v1").status_code == 404
    else:
        _assert_served(http, repo_name, "v1", img.manifest.data, OCI_MANIFEST)


def test_push_after_delete(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"del/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="v1")
    assert http.delete(manifest_url(repo_name, img.digest)).status_code == 202
    r = put_manifest(http, repo_name, "v1", img.manifest.data)
    assert r.status_code == 201
    _assert_served(http, repo_name, "v1", img.manifest.data, OCI_MANIFEST)
