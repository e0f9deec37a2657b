"""The layer API: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
BatchCheckLayerAvailability and GetDownloadUrlForLayer."""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.support.ecr import ACCOUNT, MiB, expect_error, push_layer_api, upload_layer
from tests.support.images import DOCKER_LAYER_GZIP, OCI_LAYER_GZIP, make_image, sha256_digest

MISSING_DIGEST = "sha256:" + "0" * 64
# What ECR reports for a layer uploaded through the layer API that no manifest names yet.
UPLOADED_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def data_of(size: int, seed: object) -> bytes:
    return random.Random(f"layer:{seed}").randbytes(size)


def test_initiate_layer_upload(ecr: Any, repo: str) -> None:
    started = ecr.initiate_layer_upload(repositoryName=repo, registryId=ACCOUNT)
    uuid.UUID(started["uploadId"])  # the model's UploadId is a UUID
    assert 5 * MiB <= started["partSize"] <= 20 * MiB
    expect_error(
        "RepositoryNotFoundException",
        ecr.initiate_layer_upload,
        repositoryName=f"{repo}-missing",
    )


def test_single_part_upload(ecr: Any, repo: str, v2: httpx.Client) -> None:
    data = data_of(1000, repo)
    digest = upload_layer(ecr, repo, data)
    available = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert available["failures"] == []
    assert available["layers"] == [
        {
            "layerDigest": digest,
            "layerAvailability": "AVAILABLE",
            "layerSize": len(data),
            "mediaType": UPLOADED_LAYER,
        }
    ]
    r = v2.get(f"/v2/{repo}/blobs/{digest}")
    assert r.status_code == 200 and r.content == data


def test_multi_part_upload(ecr: Any, repo: str) -> None:
    data = data_of(5 * MiB + 1234, repo)
    digest = upload_layer(ecr, repo, data, part_size=5 * MiB)
    available = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert available["layers"][0]["layerSize"] == len(data)


def _start(ecr: Any, repo: str) -> str:
    upload_id: str = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    return upload_id


def _part(ecr: Any, repo: str, upload_id: str, first: int, data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = ecr.upload_layer_part(
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=first,
        partLastByte=first + len(data) - 1,
        layerPartBlob=data,
    )
    return result


def test_upload_not_found(ecr: Any, repo: str) -> None:
    bogus = str(uuid.uuid4())
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=bogus,
        partFirstByte=0,
        partLastByte=0,
        layerPartBlob=b"x",
    )
    expect_error(
        "UploadNotFoundException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=bogus,
        layerDigests=[sha256_digest(b"x")],
    )
    # An upload belongs to its repository.
    other = f"{repo}-other"
    ecr.create_repository(repositoryName=other)
    upload_id = _start(ecr, repo)
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName=other,
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=0,
        layerPartBlob=b"x",
    )


def test_upload_is_gone_after_completion(ecr: Any, repo: str) -> None:
    upload_id = _start(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"abc")
    digest = sha256_digest(b"abc")
    ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    expect_error(
        "UploadNotFoundException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=upload_id,
        layerDigests=[digest],
    )
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=3,
        partLastByte=3,
        layerPartBlob=b"d",
    )


def test_upload_part_out_of_order(ecr: Any, repo: str) -> None:
    upload_id = _start(ecr, repo)
    data = data_of(5 * MiB, repo)
    # Not starting at byte 0.
    expect_error(
        "InvalidLayerPartException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=10,
        partLastByte=19,
        layerPartBlob=data[:10],
    )
    _part(ecr, repo, upload_id, 0, data)
    # A gap after the first part.
    expect_error(
        "InvalidLayerPartException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=len(data) + 1,
        partLastByte=len(data) + 10,
        layerPartBlob=b"0123456789",
    )
    # A range that does not match the data.
    expect_error(
        "InvalidLayerPartException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=len(data),
        partLastByte=len(data) + 99,
        layerPartBlob=b"short",
    )
    # The upload is still usable: the right next part is accepted.
    done = _part(ecr, repo, upload_id, len(data), b"tail")
    assert done["lastByteReceived"] == len(data) + 3
    digest = sha256_digest(data + b"tail")
    completed = ecr.complete_layer_upload(
        repositoryName=repo, uploadId=upload_id, layerDigests=[digest]
    )
    assert completed["layerDigest"] == digest


def test_layer_part_too_small(ecr: Any, repo: str) -> None:
    upload_id = _start(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"a" * 1024)
    expect_error(
        "LayerPartTooSmallException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=1024,
        partLastByte=2047,
        layerPartBlob=b"b" * 1024,
    )
    # A small *last* part is fine: completing with what arrived works.
    digest = sha256_digest(b"a" * 1024)
    ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])


def test_invalid_layer_digest_at_completion(ecr: Any, repo: str) -> None:
    upload_id = _start(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"some bytes")
    expect_error(
        "InvalidLayerException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=upload_id,
        layerDigests=[sha256_digest(b"other bytes")],
    )
    available = ecr.batch_check_layer_availability(
        repositoryName=repo, layerDigests=[sha256_digest(b"other bytes")]
    )
    assert available["layers"] == []


def test_layer_already_exists(ecr: Any, repo: str) -> None:
    data = data_of(100, f"exists/{repo}")
    upload_layer(ecr, repo, data)
    upload_id = _start(ecr, repo)
    _part(ecr, repo, upload_id, 0, data)
    expect_error(
        "LayerAlreadyExistsException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=upload_id,
        layerDigests=[sha256_digest(data)],
    )


def test_empty_upload(ecr: Any, repo: str) -> None:
    upload_id = _start(ecr, repo)
    expect_error(
        "EmptyUploadException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=upload_id,
        layerDigests=[sha256_digest(b"")],
    )


def test_complete_layer_upload_missing_repository(ecr: Any, repo: str) -> None:
    expect_error(
        "RepositoryNotFoundException",
        ecr.complete_layer_upload,
        repositoryName=f"{repo}-missing",
        uploadId=str(uuid.uuid4()),
        layerDigests=[MISSING_DIGEST],
    )


def test_batch_check_layer_availability(ecr: Any, repo: str) -> None:
    data = data_of(321, f"avail/{repo}")
    digest = upload_layer(ecr, repo, data)
    result = ecr.batch_check_layer_availability(
        repositoryName=repo, layerDigests=[digest, MISSING_DIGEST]
    )
    assert result["layers"] == [
        {
            "layerDigest": digest,
            "layerAvailability": "AVAILABLE",
            "layerSize": 321,
            "mediaType": UPLOADED_LAYER,
        }
    ]
    assert len(result["failures"]) == 1
    failure = result["failures"][0]
    assert failure["layerDigest"] == MISSING_DIGEST
    assert failure["failureCode"] == "MissingLayerDigest"
    assert failure["failureReason"]
    # A layer held by another repository is not available here.
    other = f"{repo}-other"
    ecr.create_repository(repositoryName=other)
    elsewhere = ecr.batch_check_layer_availability(repositoryName=other, layerDigests=[digest])
    assert elsewhere["layers"] == []
    assert [f["failureCode"] for f in elsewhere["failures"]] == ["MissingLayerDigest"]
    bad = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=["nonsense"])
    assert [f["failureCode"] for f in bad["failures"]] == ["InvalidLayerDigest"]
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_check_layer_availability,
        repositoryName=f"{repo}-missing",
        layerDigests=[digest],
    )


@pytest.mark.parametrize("docker", [False, True], ids=["oci", "docker"])
def test_batch_check_layer_availability_media_types(ecr: Any, repo: str, docker: bool) -> None:
    """Once a manifest names them, the config and layers report the types it gives them."""
    image = make_image(f"types/{repo}/{docker}", layers=2, docker=docker)
    push_layer_api(ecr, repo, image, tag="v1")
    digests = [blob.digest for blob in image.blobs]
    result = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=digests)
    assert result["failures"] == []
    assert [(layer["layerDigest"], layer["mediaType"]) for layer in result["layers"]] == [
        (blob.digest, blob.media_type) for blob in image.blobs
    ]
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    assert [blob.media_type for blob in image.layers] == [layer_type, layer_type]


def test_get_download_url_for_layer(ecr: Any, repo: str) -> None:
    data = data_of(5000, f"download/{repo}")
    digest = upload_layer(ecr, repo, data)
    result = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)
    assert result["layerDigest"] == digest
    url = result["downloadUrl"]
    # Plain GET, no credentials at all.
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert sha256_digest(r.content) == digest


def test_download_url_cannot_be_tampered_with(ecr: Any, repo: str) -> None:
    data = data_of(100, f"tamper/{repo}")
    digest = upload_layer(ecr, repo, data)
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
    parts = urlsplit(url)
    path = parts.path
    # Flip one character in the middle of the token (not at the end, where base64 may
    # have slack bits).
    middle = len(path) - 20
    flipped = "A" if path[middle] != "A" else "B"
    tampered = urlunsplit(parts._replace(path=path[:middle] + flipped + path[middle + 1 :]))
    r = httpx.get(tampered, timeout=30)
    assert r.status_code == 403, f"{r.status_code} {r.text[:200]}"
    assert r.content != data
    # A truncated token is refused as well.
    r = httpx.get(url[:-8], timeout=30)
    assert r.status_code == 403, f"{r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("layer", [MISSING_DIGEST, "sha256:" + "ab" * 32])
def test_get_download_url_for_missing_layer(ecr: Any, repo: str, layer: str) -> None:
    expect_error(
        "LayersNotFoundException",
        ecr.get_download_url_for_layer,
        repositoryName=repo,
        layerDigest=layer,
    )


def test_get_download_url_errors(ecr: Any, repo: str) -> None:
    expect_error(
        "RepositoryNotFoundException",
        ecr.get_download_url_for_layer,
        repositoryName=f"{repo}-missing",
        layerDigest=MISSING_DIGEST,
    )
    # A digest the pattern allows but that no algorithm knows.
    expect_error(
        "InvalidParameterException",
        ecr.get_download_url_for_layer,
        repositoryName=repo,
        layerDigest="md5:abcdef",
    )
