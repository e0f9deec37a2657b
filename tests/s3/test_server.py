"""A Dockyard server on the s3 backend, end to end: real clients push and pull, blob GETs
redirect to presigned URLs, GetDownloadUrlForLayer hands one out, chunked pushes smaller
than S3's 5 MiB parts, and an upload that moves between two nodes."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from dockyard.api.redact import REDACTED, redact_target
from tests.s3.conftest import StartS3Server
from tests.support.ecr import make_client, upload_layer
from tests.support.images import (
    layout_blob_digests,
    make_image,
    push_blob,
    resolve_layout_tag,
    write_oci_layout,
)
from tests.support.seaweed import SeaweedFS
from tests.support.tools import sha256_file, skopeo

pytestmark = [pytest.mark.timeout(300)]

MiB = 1 << 20


def data_of(size: int, seed: str) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_key(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return f"blobs/{algorithm}/{hex_part[:2]}/{hex_part}"


def chunked_push(client: httpx.Client, repo: str, data: bytes, chunk: int) -> str:
    digest = digest_of(data)
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        patched = client.patch(
            location,
            content=part,
            headers={
                "content-type": "application/octet-stream",
                "content-range": f"{start}-{start + len(part) - 1}",
            },
        )
        assert patched.status_code == 202, patched.text
        assert patched.headers["range"] == f"0-{start + len(part) - 1}"
        location = patched.headers["location"]
    finished = client.put(location, params={"digest": digest})
    assert finished.status_code == 201, finished.text
    return digest


def test_skopeo_pushes_and_pulls_through_s3(s3_server: StartS3Server, tmp_path: Path) -> None:
    server = s3_server()
    image = make_image("s3-skopeo", layers=3, max_file_size=200_000)
    layout = tmp_path / "layout"
    write_oci_layout(layout, {"v1": image})
    source = resolve_layout_tag(layout, "v1")
    digests = layout_blob_digests(layout, source.digest)
    dest = f"docker://{server.process.host}/team/app:v1"
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", f"oci:{layout}:v1", dest)

    # The blobs are objects in the bucket (the manifest is metadata); no bytes on local disk.
    held = set(server.objects())
    assert {blob_key(d) for d in digests if d != source.digest} <= held
    assert not any(k.startswith("uploads/") for k in held)
    assert not (server.process.data_dir / "storage").exists()

    # The pull follows the redirects to presigned URLs.
    back = tmp_path / "back"
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, f"oci:{back}:v1")
    pulled = resolve_layout_tag(back, "v1")
    assert pulled.digest == source.digest
    assert pulled.manifest_bytes == source.manifest_bytes
    assert layout_blob_digests(back, pulled.digest) == digests
    for digest in digests:
        algorithm, _, hex_part = digest.partition(":")
        assert sha256_file(back / "blobs" / algorithm / hex_part) == digest


def test_blob_gets_redirect_to_presigned_urls(s3_server: StartS3Server, seaweed: SeaweedFS) -> None:
    server = s3_server()
    layer = data_of(3 * MiB + 5, "redirect")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        digest = push_blob(client, "team/redirect", layer)
        got = client.get(f"/v2/team/redirect/blobs/{digest}")
        assert got.status_code == 307, got.text
        assert got.headers["docker-content-digest"] == digest
        location = got.headers["location"]
        assert location.startswith(seaweed.endpoint + "/")
        query = urlsplit(location).query
        assert "X-Amz-Signature=" in query and "X-Amz-Credential=" in query
        assert "X-Amz-Expires=1200" in query  # 20 minutes
        # The URL alone (no registry credentials) serves the bytes, whole or in ranges.
        fetched = httpx.get(location, timeout=60)
        assert fetched.status_code == 200 and fetched.content == layer
        ranged = httpx.get(location, headers={"range": "bytes=10-19"}, timeout=60)
        assert ranged.status_code == 206 and ranged.content == layer[10:20]
        # A client that follows redirects just gets the blob; a ranged GET redirects too.
        followed = client.get(f"/v2/team/redirect/blobs/{digest}", follow_redirects=True)
        assert followed.status_code == 200 and followed.content == layer
        ranged = client.get(
            f"/v2/team/redirect/blobs/{digest}",
            headers={"range": "bytes=3145728-"},
            follow_redirects=True,
        )
        assert ranged.status_code == 206 and ranged.content == layer[3 * MiB :]
        # HEAD is answered by the registry itself.
        head = client.head(f"/v2/team/redirect/blobs/{digest}")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(layer))
        assert head.headers["docker-content-digest"] == digest
        # Unknown blobs are still the registry's 404, not a redirect.
        missing = client.get(f"/v2/team/redirect/blobs/{digest_of(b'absent')}")
        assert missing.status_code == 404
    # The presigned query is a credential: the log filter blanks it.
    redacted = redact_target(urlsplit(location).path + "?" + query)
    assert "X-Amz-Signature=" + REDACTED in redacted
    assert "X-Amz-Credential=" + REDACTED in redacted


def test_redirects_off_means_the_server_sends_the_bytes(s3_server: StartS3Server) -> None:
    server = s3_server(env={"DOCKYARD_BLOB_REDIRECT": "false"}, open_access=False)
    ecr = make_client(server.url)
    ecr.create_repository(repositoryName="team/proxied")
    layer = data_of(6 * MiB + 1, "proxied")
    digest = upload_layer(ecr, "team/proxied", layer, part_size=5 * MiB)
    url = ecr.get_download_url_for_layer(repositoryName="team/proxied", layerDigest=digest)
    assert url["downloadUrl"].startswith(server.url + "/_dockyard/layers/")
    fetched = httpx.get(url["downloadUrl"], timeout=60)
    assert fetched.status_code == 200 and fetched.content == layer


def test_get_download_url_for_layer_is_a_presigned_s3_url(
    s3_server: StartS3Server, seaweed: SeaweedFS
) -> None:
    server = s3_server(open_access=False)
    ecr = make_client(server.url)
    ecr.create_repository(repositoryName="team/layers")
    layer = data_of(12 * MiB + 3, "layer-api")
    digest = upload_layer(ecr, "team/layers", layer, part_size=5 * MiB)
    result = ecr.get_download_url_for_layer(repositoryName="team/layers", layerDigest=digest)
    assert result["layerDigest"] == digest
    url = result["downloadUrl"]
    assert url.startswith(seaweed.endpoint + "/") and "X-Amz-Signature=" in url
    assert "X-Amz-Expires=3600" in url
    fetched = httpx.get(url, timeout=60)
    assert fetched.status_code == 200 and digest_of(fetched.content) == digest
    # The registry's own /v2 does the same for an authenticated pull.
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    with httpx.Client(
        base_url=server.url, headers={"authorization": f"Basic {token}"}, timeout=60
    ) as client:
        got = client.get(f"/v2/team/layers/blobs/{digest}")
        assert got.status_code == 307
        assert httpx.get(got.headers["location"], timeout=60).content == layer


def test_a_chunked_push_in_chunks_smaller_than_a_part(s3_server: StartS3Server) -> None:
    server = s3_server()
    layer = data_of(23 * MiB + 11, "small-chunks")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        digest = chunked_push(client, "team/chunks", layer, chunk=MiB + 513)
        followed = client.get(f"/v2/team/chunks/blobs/{digest}", follow_redirects=True)
        assert followed.status_code == 200 and digest_of(followed.content) == digest
        empty = chunked_push(client, "team/chunks", b"", chunk=1)
        assert client.get(f"/v2/team/chunks/blobs/{empty}", follow_redirects=True).content == b""
    assert not any(k.startswith("uploads/") for k in server.objects())  # every upload aborted


def test_an_upload_moves_between_nodes(s3_server: StartS3Server, tmp_path: Path) -> None:
    # Two nodes over one database and one bucket: an upload started on one, continued on
    # the other and back, finished on the second; each sees the blob.
    data_dir = tmp_path / "shared"
    first = s3_server(data_dir=data_dir)
    second = s3_server(data_dir=data_dir, prefix=first.prefix)
    layer = data_of(13 * MiB + 1, "nodes")
    digest = digest_of(layer)
    with (
        httpx.Client(base_url=first.url, timeout=60) as one,
        httpx.Client(base_url=second.url, timeout=60) as two,
    ):
        started = one.post("/v2/team/nodes/blobs/uploads/")
        assert started.status_code == 202
        path = started.headers["location"]
        cuts = [0, 4 * MiB, 9 * MiB + 7, len(layer)]
        for n, (start, end) in enumerate(itertools.pairwise(cuts)):
            node = (one, two)[n % 2]
            patched = node.patch(
                path,
                content=layer[start:end],
                headers={
                    "content-type": "application/octet-stream",
                    "content-range": f"{start}-{end - 1}",
                },
            )
            assert patched.status_code == 202, patched.text
            path = patched.headers["location"]
        finished = two.put(path, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        for node in (one, two):
            got = node.get(f"/v2/team/nodes/blobs/{digest}", follow_redirects=True)
            assert got.status_code == 200 and got.content == layer
