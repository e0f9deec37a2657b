"""End-to-end tests with skopeo against both registries over real sockets.

Source content comes from two OCI image layouts:

* one built by umoci (``umoci init/new/config``, then one ``umoci insert`` per layer), and
* one built in Python by ``tests.support.images`` (a multi-layer image and a
  three-platform image index).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.images import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    ImageIndex,
    image_from_layers,
    layout_blob_digests,
    make_image,
    make_layer,
    make_multiarch_index,
    resolve_layout_tag,
    sha256_digest,
    write_oci_layout,
)
from tests.support.servers import Registry
from tests.support.tools import sha256_file, skopeo, skopeo_raw_manifest, umoci_build_layout

pytestmark = [pytest.mark.clients, pytest.mark.timeout(180)]

OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
IMAGE_TAG = "image"
MULTI_TAG = "multi"


# --- source layouts ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def python_image() -> Image:
    return make_image("skopeo-image", layers=4, max_file_size=16384)


@pytest.fixture(scope="module")
def python_index() -> ImageIndex:
    return make_multiarch_index(
        "skopeo-multi",
        platforms=[("linux", "amd64"), ("linux", "arm64", "v8"), ("linux", "s390x")],
        layers=2,
    )


@pytest.fixture(scope="module")
def python_layout(
    tmp_path_factory: pytest.TempPathFactory, python_image: Image, python_index: ImageIndex
) -> Path:
    layout = tmp_path_factory.mktemp("py-layout") / "layout"
    write_oci_layout(layout, {IMAGE_TAG: python_image, MULTI_TAG: python_index})
    return layout


@pytest.fixture(scope="module")
def umoci_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("umoci-layout")
    layout = base / "layout"
    umoci_build_layout(layout, IMAGE_TAG, layers=3, seed="skopeo-umoci", scratch=base / "src")
    return layout


@pytest.fixture(params=["umoci", "python"])
def source_layout(request: pytest.FixtureRequest) -> Path:
    """An OCI layout whose tag ``image`` is a single-platform image with >= 3 layers."""
    layout: Path = request.getfixturevalue(f"{request.param}_layout")
    return layout


# --- helpers ----------------------------------------------------------------------------------
def docker_ref(registry: Registry, repo: str, tag: str) -> str:
    return f"docker://{registry.host}/{repo}:{tag}"


def push(layout: Path, tag: str, dest: str, *extra: str) -> None:
    skopeo(
        "copy", "--preserve-digests", "--dest-tls-verify=false", *extra, f"oci:{layout}:{tag}", dest
    )


def assert_layout_blobs_intact(layout: Path, digests: set[str]) -> None:
    for digest in digests:
        algo, hexd = digest.split(":", 1)
        path = layout / "blobs" / algo / hexd
        assert path.is_file(), f"{digest} missing from {layout}"
        assert sha256_file(path) == digest, f"{path} content does not match its digest"


def registry_manifest(registry: Registry, repo: str, reference: str) -> httpx.Response:
    r = httpx.get(
        f"{registry.url}/v2/{repo}/manifests/{reference}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r


# --- tests ------------------------------------------------------------------------------------
def test_copy_multilayer_image_roundtrip(
    registry: Registry, repo_name: str, source_layout: Path, tmp_path: Path
) -> None:
    src = resolve_layout_tag(source_layout, IMAGE_TAG)
    src_manifest = json.loads(src.manifest_bytes)
    assert len(src_manifest["layers"]) >= 3
    src_digests = layout_blob_digests(source_layout, src.digest)
    dest = docker_ref(registry, repo_name, "v1")

    push(source_layout, IMAGE_TAG, dest)

    raw = skopeo_raw_manifest(dest)
    assert raw == src.manifest_bytes
    assert sha256_digest(raw) == src.digest
    r = registry_manifest(registry, repo_name, "v1")
    assert r.headers["Docker-Content-Digest"] == src.digest
    assert r.content == src.manifest_bytes

    back = tmp_path / "back"
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, f"oci:{back}:v1")
    back_ref = resolve_layout_tag(back, "v1")
    assert back_ref.digest == src.digest
    assert back_ref.manifest_bytes == src.manifest_bytes
    assert layout_blob_digests(back, back_ref.digest) == src_digests
    assert_layout_blobs_intact(back, src_digests)


def test_copy_multiarch_index_all(
    registry: Registry,
    repo_name: str,
    python_layout: Path,
    python_index: ImageIndex,
    tmp_path: Path,
) -> None:
    src = resolve_layout_tag(python_layout, MULTI_TAG)
    assert src.digest == python_index.digest
    src_digests = layout_blob_digests(python_layout, src.digest)
    dest = docker_ref(registry, repo_name, "multi")

    push(python_layout, MULTI_TAG, dest, "--all")

    raw = skopeo_raw_manifest(dest)
    assert raw == python_index.index.data
    r = registry_manifest(registry, repo_name, "multi")
    assert r.headers["Docker-Content-Digest"] == python_index.digest
    assert r.headers["Content-Type"].split(";")[0] == OCI_INDEX
    for img in python_index.images:
        child = registry_manifest(registry, repo_name, img.digest)
        assert child.content == img.manifest.data
        assert child.headers["Content-Type"].split(";")[0] == OCI_MANIFEST

    back = tmp_path / "back"
    skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false", dest, f"oci:{back}:m")
    back_ref = resolve_layout_tag(back, "m")
    assert back_ref.digest == python_index.digest
    assert layout_blob_digests(back, back_ref.digest) == src_digests
    assert_layout_blobs_intact(back, src_digests)


def test_copy_docker_schema2(
    registry: Registry,
    repo_name: str,
    python_layout: Path,
    python_image: Image,
    tmp_path: Path,
) -> None:
    dest = docker_ref(registry, repo_name, "v2s2")
    skopeo(
        "copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{python_layout}:image", dest
    )

    raw = skopeo_raw_manifest(dest)
    manifest = json.loads(raw)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert manifest["config"]["digest"] == python_image.config.digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [DOCKER_LAYER_GZIP] * len(
        python_image.layers
    )
    assert [layer["digest"] for layer in manifest["layers"]] == [
        layer.digest for layer in python_image.layers
    ]
    r = registry_manifest(registry, repo_name, "v2s2")
    assert r.headers["Content-Type"].split(";")[0] == DOCKER_MANIFEST
    assert r.headers["Docker-Content-Digest"] == sha256_digest(raw)
    assert r.content == raw

    # Back into a `dir:` directory: the Docker manifest and blobs arrive unchanged.
    back_dir = tmp_path / "back-dir"
    skopeo("copy", "--src-tls-verify=false", dest, f"dir:{back_dir}")
    assert (back_dir / "manifest.json").read_bytes() == raw
    for blob in python_image.blobs:
        path = back_dir / blob.hex
        assert path.read_bytes() == blob.data

    # Back into an OCI layout: skopeo converts the manifest; the layers stay identical.
    back_oci = tmp_path / "back-oci"
    skopeo("copy", "--src-tls-verify=false", dest, f"oci:{back_oci}:v2s2")
    oci_ref = resolve_layout_tag(back_oci, "v2s2")
    oci_manifest = json.loads(oci_ref.manifest_bytes)
    assert oci_manifest["mediaType"] == OCI_MANIFEST
    assert [layer["digest"] for layer in oci_manifest["layers"]] == [
        layer.digest for layer in python_image.layers
    ]
    assert_layout_blobs_intact(back_oci, layout_blob_digests(back_oci, oci_ref.digest))


def test_copy_between_repositories_mounts_blobs(
    registry: Registry, repo_name: str, python_layout: Path, python_image: Image
) -> None:
    src_repo, dst_repo = f"{repo_name}/src", f"{repo_name}/dst"
    push(python_layout, IMAGE_TAG, docker_ref(registry, src_repo, "v1"))

    result = skopeo(
        "--debug",
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        docker_ref(registry, src_repo, "v1"),
        docker_ref(registry, dst_repo, "v1"),
    )

    # skopeo's blob-info cache knows the layers live in src_repo (it just pushed them), so
    # it must mount them into dst_repo with POST ...?mount=<digest>&from=<src_repo>.
    mount_attempts = [line for line in result.stderr.splitlines() if "Trying to mount" in line]
    mounts_ok = result.stderr.count("mount OK")
    assert mount_attempts, f"skopeo never tried a cross-repository mount:\n{result.stderr}"
    assert mounts_ok >= len(python_image.layers), result.stderr
    assert "from=" in mount_attempts[0]

    r = registry_manifest(registry, dst_repo, "v1")
    assert r.headers["Docker-Content-Digest"] == python_image.digest
    for blob in python_image.blobs:
        b = httpx.get(f"{registry.url}/v2/{dst_repo}/blobs/{blob.digest}", timeout=30)
        assert b.status_code == 200, (blob.digest, b.status_code, b.text[:500])
        assert b.content == blob.data


def test_copy_large_layer_roundtrip(registry: Registry, repo_name: str, tmp_path: Path) -> None:
    """A ~16 MiB incompressible layer: exercises streamed (PATCH) uploads and big downloads."""
    big = make_layer("skopeo-big", files=2, min_size=8 << 20, max_size=8 << 20, compresslevel=1)
    small = make_layer("skopeo-big-small")
    image = image_from_layers([big, small])
    assert big.size > 16 << 20
    layout = write_oci_layout(tmp_path / "src", {"big": image})
    dest = docker_ref(registry, repo_name, "big")

    push(layout, "big", dest)

    assert skopeo_raw_manifest(dest) == image.manifest.data
    back = tmp_path / "back"
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, f"oci:{back}:big")
    assert resolve_layout_tag(back, "big").digest == image.digest
    assert_layout_blobs_intact(back, {b.digest for b in image.blobs})


def test_copy_recompressed_zstd(registry: Registry, repo_name: str, tmp_path: Path) -> None:
    """skopeo recompresses the layers with zstd on the way in: new layer media type/digests."""
    # Content unique to this test: had skopeo's blob-info cache seen these layers in this
    # registry before (gzip-compressed), it would reuse them instead of recompressing.
    image = make_image(f"skopeo-zstd-{repo_name}", layers=3)
    layout = write_oci_layout(tmp_path / "src", {IMAGE_TAG: image})
    dest = docker_ref(registry, repo_name, "zstd")
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        f"oci:{layout}:{IMAGE_TAG}",
        dest,
    )
    raw = skopeo_raw_manifest(dest)
    manifest = json.loads(raw)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_ZSTD] * len(
        image.layers
    )
    r = registry_manifest(registry, repo_name, "zstd")
    assert r.headers["Docker-Content-Digest"] == sha256_digest(raw)
    for layer in manifest["layers"]:
        b = httpx.get(f"{registry.url}/v2/{repo_name}/blobs/{layer['digest']}", timeout=30)
        assert b.status_code == 200
        assert b.content[:4] == ZSTD_MAGIC
        assert sha256_digest(b.content) == layer["digest"]

    back = tmp_path / "back"
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, f"oci:{back}:zstd")
    back_ref = resolve_layout_tag(back, "zstd")
    assert back_ref.manifest_bytes == raw
    assert_layout_blobs_intact(back, layout_blob_digests(back, back_ref.digest))


def test_list_tags(registry: Registry, repo_name: str, python_layout: Path) -> None:
    tags = ["v1", "v1.1", "latest", "release-2024_01"]
    for tag in tags:
        push(python_layout, IMAGE_TAG, docker_ref(registry, repo_name, tag))

    result = skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host}/{repo_name}")
    listing = json.loads(result.stdout)
    assert listing["Repository"] == f"{registry.host}/{repo_name}"
    assert sorted(listing["Tags"]) == sorted(tags)


def test_delete_by_digest(
    registry: Registry, repo_name: str, python_layout: Path, python_image: Image
) -> None:
    dest = docker_ref(registry, repo_name, "doomed")
    push(python_layout, IMAGE_TAG, dest)
    skopeo(
        "delete",
        "--tls-verify=false",
        f"docker://{registry.host}/{repo_name}@{python_image.digest}",
    )
    gone = skopeo("inspect", "--raw", "--tls-verify=false", dest, check=False)
    assert gone.returncode != 0
    r = httpx.get(
        f"{registry.url}/v2/{repo_name}/manifests/{python_image.digest}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=30,
    )
    assert r.status_code == 404
