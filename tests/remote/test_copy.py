"""Copying images between docker-registry and Dockyard with the remote client: the bytes and
digests that arrive are the ones that left, in both directions."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from tests.remote.conftest import run
from tests.remote.peers import push_with_skopeo
from tests.support.images import (
    COSIGN_SIGNATURE,
    OCI_EMPTY,
    Blob,
    make_image,
    make_manifest,
    make_multiarch_index,
    push_blob,
    push_manifest,
)
from tests.support.servers import Registry
from tests.support.tools import skopeo_raw_manifest

from dockyard.domain.digests import Digest
from dockyard.remote import (
    RegistryClient,
    RemoteManifestNotFound,
    RemoteSink,
    RemoteSource,
    copy_image,
    fallback_tag,
)

pytestmark = pytest.mark.timeout(180)

EMPTY_CONFIG = Blob(media_type=OCI_EMPTY, data=b"{}")


def _repo(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def _raw(registry: Registry, repository: str, reference: str) -> bytes:
    separator = "@" if ":" in reference else ":"
    return skopeo_raw_manifest(f"docker://{registry.host}/{repository}{separator}{reference}")


def test_single_image_there_and_back(
    distribution_registry: Registry, dockyard_registry: Registry, work_dir: Path
) -> None:
    image = make_image(f"remote-single-{uuid.uuid4()}", layers=3)
    first, there, back = _repo("src"), _repo("copy"), _repo("back")
    push_with_skopeo(distribution_registry.host, first, "v1", image, work_dir)

    async def go() -> None:
        async with (
            RegistryClient(distribution_registry.url) as dist,
            RegistryClient(dockyard_registry.url) as dock,
        ):
            seen: list[tuple[int, int]] = []
            result = await copy_image(
                RemoteSource(dist, first),
                RemoteSink(dock, there),
                "v1",
                progress=lambda r: seen.append((r.blobs_copied, len(r.manifests))),
            )
            assert seen == [(1, 0), (2, 0), (3, 0), (4, 0), (4, 1)]  # each blob, then the manifest
            assert str(result.digest) == image.digest
            assert result.manifests == [Digest.parse(image.digest)]
            assert (result.blobs_copied, result.blobs_skipped, result.blobs_mounted) == (4, 0, 0)
            assert result.bytes_copied == sum(b.size for b in image.blobs)

            back_result = await copy_image(RemoteSource(dock, there), RemoteSink(dist, back), "v1")
            assert str(back_result.digest) == image.digest

            again = await copy_image(RemoteSource(dist, first), RemoteSink(dock, there), "v1")
            assert (again.blobs_copied, again.blobs_skipped, again.bytes_copied) == (0, 4, 0)

    run(go())
    original = _raw(distribution_registry, first, "v1")
    assert original == image.manifest.data
    assert _raw(dockyard_registry, there, "v1") == original
    assert _raw(distribution_registry, back, "v1") == original


def test_multiarch_index_with_its_signature(
    distribution_registry: Registry, dockyard_registry: Registry, work_dir: Path
) -> None:
    """An index, its children, their blobs and a referrer of the index go whole, both ways:
    into docker-registry (no referrers API: the fallback tag) and back into Dockyard."""
    index = make_multiarch_index(
        f"remote-multi-{uuid.uuid4()}", [("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")]
    )
    source, there, back = _repo("multi"), _repo("copy"), _repo("back")
    push_with_skopeo(dockyard_registry.host, source, "v2", index, work_dir)
    signature = make_manifest(EMPTY_CONFIG, [], subject=index.index, artifact_type=COSIGN_SIGNATURE)
    with httpx.Client(base_url=dockyard_registry.url, timeout=30) as http:
        push_blob(http, source, EMPTY_CONFIG)
        push_manifest(http, source, signature.digest, signature)

    async def go() -> None:
        async with (
            RegistryClient(distribution_registry.url) as dist,
            RegistryClient(dockyard_registry.url) as dock,
        ):
            out = await copy_image(
                RemoteSource(dock, source), RemoteSink(dist, there), "v2", include_referrers=True
            )
            assert str(out.digest) == index.digest
            digests = [str(d) for d in out.manifests]
            # Children before the index, the index before its referrer.
            assert set(digests[:3]) == {i.digest for i in index.images}
            assert digests[3:] == [index.digest, signature.digest]
            assert out.referrers == 1
            assert out.blobs_copied == len(index.blobs) + 1  # and the signature's config

            listed = await dist.referrers(there, Digest.parse(index.digest))
            assert [str(d.digest) for d in listed] == [signature.digest]
            assert listed[0].artifact_type == COSIGN_SIGNATURE

            home = await copy_image(
                RemoteSource(dist, there), RemoteSink(dock, back), "v2", include_referrers=True
            )
            assert [str(d) for d in home.manifests][-2:] == [index.digest, signature.digest]
            found = await dock.referrers(back, Digest.parse(index.digest))
            assert [str(d.digest) for d in found] == [signature.digest]

    run(go())
    assert _raw(distribution_registry, there, "v2") == index.index.data
    assert _raw(dockyard_registry, back, "v2") == index.index.data
    fallback = fallback_tag(Digest.parse(index.digest))
    assert signature.digest.encode() in _raw(distribution_registry, there, fallback)
    for image in index.images:
        assert _raw(dockyard_registry, back, image.digest) == image.manifest.data


def test_mount_within_one_registry(distribution_registry: Registry, work_dir: Path) -> None:
    image = make_image(f"remote-mount-{uuid.uuid4()}", layers=2)
    first, second = _repo("mount"), _repo("mount")
    push_with_skopeo(distribution_registry.host, first, "v1", image, work_dir)

    async def go() -> None:
        async with RegistryClient(distribution_registry.url) as dist:
            sink = RemoteSink(dist, second, mount_from=first)
            result = await copy_image(RemoteSource(dist, first), sink, "v1")
            assert (result.blobs_mounted, result.blobs_copied, result.bytes_copied) == (3, 0, 0)

    run(go())
    assert _raw(distribution_registry, second, "v1") == image.manifest.data


@pytest.mark.parametrize("kind", ["distribution", "dockyard"])
def test_tags_follow_pagination(kind: str, request: pytest.FixtureRequest, work_dir: Path) -> None:
    registry: Registry = request.getfixturevalue(f"{kind}_registry")
    repository = _repo("tags")
    image = make_image(f"remote-tags-{uuid.uuid4()}", layers=1)
    tags = [f"t{i}" for i in range(5)]
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        for blob in image.blobs:
            push_blob(http, repository, blob)
        for tag in tags:
            push_manifest(http, repository, tag, image.manifest)

    async def go() -> None:
        async with RegistryClient(registry.url) as client:
            assert sorted(await client.list_tags(repository, page_size=2)) == tags
            assert sorted(await client.list_tags(repository)) == tags
            head = await client.head_manifest(repository, "t3")
            assert str(head.digest) == image.digest
            # Deletes (for delete propagation): by digest, then it is gone.
            await client.delete_manifest(repository, image.digest)
            with pytest.raises(RemoteManifestNotFound):
                await client.get_manifest(repository, image.digest)
            with pytest.raises(RemoteManifestNotFound):
                await client.delete_manifest(repository, image.digest)

    run(go())
