"""Everything pushed survives a clean stop (SIGTERM) and a start on the same data dir."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.crash.conftest import Spawn
from tests.oci.helpers import (
    blob_url,
    finish_upload,
    parse_range,
    patch_chunk,
    random_bytes,
    sha256_digest,
    start_upload,
    upload_location,
)
from tests.support.images import (
    EMPTY_JSON,
    MANIFEST_ACCEPT,
    OCI_EMPTY,
    Blob,
    make_image,
    make_manifest,
    make_multiarch_index,
    push_blob,
    push_image,
    push_manifest,
)

pytestmark = [pytest.mark.crash, pytest.mark.timeout(120)]


def test_restart_keeps_everything(spawn: Spawn, data_dir: Path) -> None:
    img = make_image("restart/oci", layers=3)
    docker = make_image("restart/docker", layers=2, docker=True)
    multi = make_multiarch_index("restart/multi")
    empty = Blob(OCI_EMPTY, EMPTY_JSON)
    sbom_layer = Blob("application/vnd.example.sbom.v1+json", b'{"packages": []}')
    sbom = make_manifest(
        empty,
        [sbom_layer],
        subject=img.manifest,
        artifact_type="application/vnd.example.sbom.v1",
        annotations={"k": "v"},
    )
    loose = random_bytes(100_000, "restart/loose")
    partial = random_bytes(300_000, "restart/partial")

    srv = spawn(data_dir)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        push_image(c, "keep/app", img, tag="v1")
        push_manifest(c, "keep/app", "stable", img.manifest)
        push_image(c, "keep/app", docker, tag="docker")
        push_image(c, "keep/multi", multi, tag="multi")
        push_blob(c, "keep/app", empty)
        push_blob(c, "keep/app", sbom_layer)
        push_manifest(c, "keep/app", sbom.digest, sbom)
        push_blob(c, "keep/loose", loose)
        # An upload session that is half done when the server stops.
        _, location = start_upload(c, "keep/app")
        r = patch_chunk(c, location, partial[:200_000], 0)
        assert r.status_code == 202
        location = upload_location(c, r)
        # A deleted tag must stay deleted.
        push_manifest(c, "keep/app", "gone", img.manifest)
        assert c.delete("/v2/keep/app/manifests/gone").status_code == 202

    assert srv.stop() == 0, srv.log_text()[-3000:]
    srv = spawn(data_dir, port=srv.port)

    with httpx.Client(base_url=srv.url, timeout=30) as c:
        expected = {
            ("keep/app", "v1"): img.manifest,
            ("keep/app", "stable"): img.manifest,
            ("keep/app", img.digest): img.manifest,
            ("keep/app", "docker"): docker.manifest,
            ("keep/app", sbom.digest): sbom,
            ("keep/multi", "multi"): multi.index,
            **{("keep/multi", i.digest): i.manifest for i in multi.images},
        }
        for (repo, ref), manifest in expected.items():
            r = c.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT})
            assert r.status_code == 200, f"{repo}:{ref} lost: {r.status_code}"
            assert r.content == manifest.data
            assert r.headers["content-type"].split(";")[0] == manifest.media_type
            assert r.headers["docker-content-digest"] == manifest.digest

        blobs = [("keep/app", b.data) for b in (*img.blobs, *docker.blobs, empty, sbom_layer)]
        blobs += [("keep/multi", b.data) for b in multi.blobs]
        blobs.append(("keep/loose", loose))
        for repo, data in blobs:
            r = c.get(blob_url(repo, sha256_digest(data)))
            assert r.status_code == 200, f"blob lost in {repo}"
            assert r.content == data

        r = c.get("/v2/keep/app/tags/list")
        assert r.status_code == 200
        assert r.json()["tags"] == ["docker", "stable", "v1"]
        assert c.get("/v2/keep/app/manifests/gone").status_code == 404

        r = c.get("/v2/_catalog")
        assert r.status_code == 200
        assert {"keep/app", "keep/multi", "keep/loose"} <= set(r.json()["repositories"])

        r = c.get(f"/v2/keep/app/referrers/{img.digest}")
        assert r.status_code == 200
        assert [d["digest"] for d in r.json()["manifests"]] == [sbom.digest]

        status = c.get(location)
        assert status.status_code == 204, "upload session lost across a clean restart"
        assert parse_range(status.headers.get("range")) == (0, 199_999)
        location = upload_location(c, status)
        r = patch_chunk(c, location, partial[200_000:], 200_000)
        assert r.status_code == 202
        r = finish_upload(c, upload_location(c, r), sha256_digest(partial))
        assert r.status_code == 201
        assert c.get(blob_url("keep/app", sha256_digest(partial))).content == partial

    assert srv.stop() == 0, srv.log_text()[-3000:]
