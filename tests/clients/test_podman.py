"""End-to-end test with podman: load from an OCI layout, push, remove, pull back.

podman runs as root here with fully isolated state: its own storage (``--root``,
``--runroot``, ``--tmpdir``, vfs driver), cgroupfs, file events, and private
containers.conf / registries.conf / storage.conf files pointed to by environment variables.
No container is ever run; only image transfer is exercised.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.images import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_ACCEPT,
    OCI_MANIFEST,
    get_manifest,
    make_image,
    make_multiarch_index,
    push_image,
    sha256_digest,
    write_oci_layout,
)
from tests.support.podman import Podman
from tests.support.servers import Registry

pytestmark = [pytest.mark.clients, pytest.mark.timeout(180)]


@pytest.fixture
def podman() -> Iterator[Podman]:
    """A podman with isolated state in a fresh temporary directory.

    The directory is short and directly under the system temp dir because podman refuses
    a ``--runroot`` longer than 50 characters (pytest's tmp_path is longer).
    """
    state = Path(tempfile.mkdtemp(prefix="dockyard-podman-"))
    try:
        yield Podman(state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_podman_push_rmi_pull(
    podman: Podman, registry: Registry, repo_name: str, tmp_path: Path
) -> None:
    policy = podman.policy
    image = make_image("podman-image", layers=3, max_file_size=8192)
    layout = write_oci_layout(tmp_path / "layout", {"src": image})
    image_id = image.config.hex  # podman's image ID is the config digest
    remote = f"{registry.host}/{repo_name}:v1"

    # Load into podman storage from the OCI layout.
    loaded = podman("pull", "--signature-policy", policy, f"oci:{layout}:src")
    assert loaded.stdout.split()[-1] == image_id

    # Push to the registry.
    podman("tag", image_id, remote)
    digest_file = tmp_path / "digest"
    podman(
        "push",
        "--tls-verify=false",
        "--signature-policy",
        policy,
        "--digestfile",
        digest_file,
        remote,
    )
    pushed_digest = digest_file.read_text().strip()
    assert pushed_digest.startswith("sha256:")

    r = httpx.get(
        f"{registry.url}/v2/{repo_name}/manifests/v1",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["Docker-Content-Digest"] == pushed_digest
    manifest = r.json()
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["digest"] == image.config.digest
    assert len(manifest["layers"]) == len(image.layers)
    for layer in manifest["layers"]:
        b = httpx.get(f"{registry.url}/v2/{repo_name}/blobs/{layer['digest']}", timeout=30)
        assert b.status_code == 200

    # Remove every local trace of the image, then pull it back from the registry.
    podman("rmi", "--force", image_id)
    assert podman("images", "--quiet", "--all").stdout.strip() == ""

    pulled = podman("pull", "--tls-verify=false", "--signature-policy", policy, remote)
    assert pulled.stdout.split()[-1] == image_id
    info = json.loads(podman("image", "inspect", remote).stdout)[0]
    assert info["Id"] == image_id
    assert info["Digest"] == pushed_digest
    assert f"{registry.host}/{repo_name}@{pushed_digest}" in info["RepoDigests"]
    assert info["RootFS"]["Layers"] == [layer.diff_id for layer in image.layers]

    # Pull by digest too (same image, already present: resolves through the registry).
    by_digest = f"{registry.host}/{repo_name}@{pushed_digest}"
    pulled = podman("pull", "--tls-verify=false", "--signature-policy", policy, by_digest)
    assert pulled.stdout.split()[-1] == image_id


def test_podman_manifest_list_push_v2s2(
    podman: Podman, registry: Registry, repo_name: str, tmp_path: Path
) -> None:
    """`podman manifest` builds a list from two registry images and pushes it as a Docker
    manifest list (children converted to Docker schema 2); then a platform-specific pull."""
    policy = podman.policy
    index = make_multiarch_index("podman-list", platforms=[("linux", "amd64"), ("linux", "arm64")])
    src_repo = f"{repo_name}/src"
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        for img in index.images:
            assert img.platform is not None
            push_image(http, src_repo, img, tag=img.platform["architecture"])

    local_list = f"{registry.host}/{repo_name}:list"
    podman("manifest", "create", local_list)
    for img in index.images:
        podman(
            "manifest",
            "add",
            "--tls-verify=false",
            local_list,
            f"docker://{registry.host}/{src_repo}@{img.digest}",
        )
    digest_file = tmp_path / "digest"
    podman(
        "manifest",
        "push",
        "--all",
        "--format",
        "v2s2",
        "--tls-verify=false",
        # (`podman manifest push` has no --signature-policy; it uses the system policy.json)
        "--digestfile",
        digest_file,
        local_list,
        f"docker://{local_list}",
    )
    list_digest = digest_file.read_text().strip()

    with httpx.Client(base_url=registry.url, timeout=30) as http:
        r = get_manifest(http, repo_name, "list")
        assert r.headers["Content-Type"].split(";")[0] == DOCKER_MANIFEST_LIST
        assert r.headers["Docker-Content-Digest"] == list_digest == sha256_digest(r.content)
        listing = r.json()
        assert listing["mediaType"] == DOCKER_MANIFEST_LIST
        platforms = {}
        for desc in listing["manifests"]:
            assert desc["mediaType"] == DOCKER_MANIFEST
            child = get_manifest(http, repo_name, desc["digest"])
            assert child.headers["Content-Type"].split(";")[0] == DOCKER_MANIFEST
            assert len(child.content) == desc["size"]
            platforms[desc["platform"]["architecture"]] = child.json()["config"]["digest"]
    # Conversion to schema 2 keeps each image's config blob (and so its image ID).
    assert platforms == {
        img.platform["architecture"]: img.config.digest for img in index.images if img.platform
    }

    arm64 = next(
        img for img in index.images if img.platform and img.platform["architecture"] == "arm64"
    )
    pulled = podman(
        "pull",
        "--tls-verify=false",
        "--signature-policy",
        policy,
        "--platform",
        "linux/arm64",
        f"{registry.host}/{repo_name}:list",
    )
    assert pulled.stdout.split()[-1] == arm64.config.hex
