"""Blobs stream: a 64 MiB layer goes in PATCH chunks with bounded memory, and a blob served
by a redirect to blob storage (Dockyard on S3: presigned SeaweedFS URLs) is followed
without the registry's credentials going to the storage host."""

from __future__ import annotations

import logging
import os
import tracemalloc
import uuid
from pathlib import Path

import pytest
from tests.remote.conftest import run
from tests.remote.peers import Recorder, push_with_skopeo
from tests.s3.conftest import S3_ENV, s3_args
from tests.support.auth import ecr_client, login_password
from tests.support.images import OCI_LAYER_TAR, Blob, image_from_layers, make_image
from tests.support.seaweed import SeaweedFS
from tests.support.servers import DockyardProcess, Registry
from tests.support.tools import skopeo_raw_manifest

from dockyard.domain.digests import Digest
from dockyard.remote import ClientOptions, Credentials, RegistryClient, RemoteSink, RemoteSource
from dockyard.remote import copy_image as copy

pytestmark = pytest.mark.timeout(300)

MiB = 1 << 20


def test_large_blob_is_chunked_with_bounded_memory(
    distribution_registry: Registry, dockyard_registry: Registry, work_dir: Path
) -> None:
    layer = Blob(media_type=OCI_LAYER_TAR, data=os.urandom(64 * MiB))
    image = image_from_layers([layer])
    source, there, back = (f"large/{uuid.uuid4().hex[:10]}" for _ in range(3))
    push_with_skopeo(distribution_registry.host, source, "v1", image, work_dir)
    chunked = ClientOptions(chunk_size=8 * MiB)

    async def go() -> None:
        dock_wire, dist_wire = Recorder(), Recorder()
        async with (
            RegistryClient(distribution_registry.url, options=chunked, transport=dist_wire) as dist,
            RegistryClient(dockyard_registry.url, options=chunked, transport=dock_wire) as dock,
        ):
            tracemalloc.start()
            try:
                there_result = await copy(RemoteSource(dist, source), RemoteSink(dock, there), "v1")
                back_result = await copy(RemoteSource(dock, there), RemoteSink(dist, back), "v1")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB while copying a 64 MiB blob twice"
        assert (
            there_result.bytes_copied
            == back_result.bytes_copied
            == image.layers[0].size + (image.config.size)
        )
        # 64 MiB in 8 MiB chunks: eight PATCHes into each registry, then the closing PUT.
        assert dock_wire.count("PATCH", "/blobs/uploads/") == 8
        assert dist_wire.count("PATCH", "/blobs/uploads/") == 8

    run(go())
    assert skopeo_raw_manifest(f"docker://{dockyard_registry.host}/{there}:v1") == (
        image.manifest.data
    )
    assert skopeo_raw_manifest(f"docker://{distribution_registry.host}/{back}:v1") == (
        image.manifest.data
    )


def test_redirect_to_blob_storage(
    seaweed: SeaweedFS,
    distribution_registry: Registry,
    tmp_path: Path,
    work_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    process = DockyardProcess(
        tmp_path / "data",
        extra_args=s3_args(seaweed, seaweed.fresh_prefix()),
        env=S3_ENV,
        log_dir=tmp_path / "logs",
        open_access=False,
    )
    image = make_image(f"remote-redirect-{uuid.uuid4()}", layers=2)
    source, target = "redirect/source", f"redirect/{uuid.uuid4().hex[:10]}"
    with process.serving():
        ecr_client(process.url).create_repository(repositoryName=source)
        password = login_password(process.url)
        push_with_skopeo(process.host, source, "v1", image, work_dir, creds=f"AWS:{password}")
        wire = Recorder()

        async def go() -> None:
            async with (
                RegistryClient(process.url, Credentials("AWS", password), transport=wire) as s3,
                RegistryClient(distribution_registry.url) as dist,
            ):
                result = await copy(RemoteSource(s3, source), RemoteSink(dist, target), "v1")
                assert result.blobs_copied == 3
                # Streamed straight from storage: the bytes check out against the digests.
                layer = image.layers[0]
                got = b"".join(
                    [c async for c in s3.open_blob(source, Digest.parse(layer.digest), layer.size)]
                )
                assert got == layer.data

        run(go())
    redirects = [s for s in wire.seen if s.status == 307 and "/blobs/" in s.url.path]
    assert len(redirects) == 4  # three blobs copied, one read again
    storage = [s for s in wire.seen if s.url.port != process.port]
    assert len(storage) == 4 and all(s.status == 200 for s in storage)
    assert all("X-Amz-Signature" in str(s.url) for s in storage)
    # The registry's credentials went to the registry, and nowhere else.
    assert all(s.authorization is None for s in storage)
    assert all(s.authorization for s in redirects)
    assert skopeo_raw_manifest(f"docker://{distribution_registry.host}/{target}:v1") == (
        image.manifest.data
    )
    # httpx logs every request (INFO), and the client its own (DEBUG): neither the presigned
    # URLs' signatures nor the password reach a log line.
    assert "HTTP Request: GET" in caplog.text and "/blobs/sha256:" in caplog.text
    assert "X-Amz-Signature" not in caplog.text and password not in caplog.text
