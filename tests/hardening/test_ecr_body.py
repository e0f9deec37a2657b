"""``POST /`` looks at the credentials before the body, and takes no body larger than the
largest request botocore's model allows for the operation."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dockyard.api.ecr import shapes
from tests.hardening.rawhttp import (
    ECR_TARGET,
    connection,
    ecr_headers,
    read_response,
    request_head,
    send_quietly,
)
from tests.support.ecr import expect_error, make_client
from tests.support.images import OCI_MANIFEST, make_image, push_blob
from tests.support.servers import DockyardProcess

MiB = 1 << 20


def _ecr_answer(body: bytes) -> tuple[str, str]:
    document = json.loads(body)
    return document["__type"], document["message"]


@pytest.mark.parametrize(
    ("authorization", "kind"),
    [
        (None, "MissingAuthenticationTokenException"),
        ("Basic QVdTOnNlY3JldA==", "IncompleteSignatureException"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIANOSUCHKEY0000000/20250101/us-east-1/ecr/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
            "UnrecognizedClientException",
        ),
    ],
    ids=["none", "not-sigv4", "unknown-key"],
)
def test_bad_credentials_are_refused_before_the_body(
    server: DockyardProcess, authorization: str | None, kind: str
) -> None:
    headers = {
        "X-Amz-Target": ECR_TARGET + "PutImage",
        "X-Amz-Date": "20250101T000000Z",
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": str(32 * MiB),
    }
    if authorization:
        headers["Authorization"] = authorization
    with connection(server) as sock:
        # Headers only: the answer must come without a byte of the 32 MiB announced.
        assert send_quietly(sock, request_head("POST", "/", headers))
        answer = read_response(sock, timeout=5)
    assert answer.status == 403, answer
    assert _ecr_answer(answer.body)[0] == kind
    assert answer.headers.get("connection") == "close"


def test_a_body_over_the_limit_is_refused_by_its_content_length(server: DockyardProcess) -> None:
    headers = ecr_headers(server, "CreateRepository", b"{}")
    headers["Content-Length"] = str(shapes.OTHER_BODY_LIMIT + 1)
    with connection(server) as sock:
        assert send_quietly(sock, request_head("POST", "/", headers))
        answer = read_response(sock, timeout=5)
    assert answer.status == 413, answer
    assert _ecr_answer(answer.body)[0] == "RequestEntityTooLargeException"
    assert answer.headers.get("connection") == "close"


def test_a_chunked_body_over_the_limit_is_cut_off(server: DockyardProcess) -> None:
    headers = ecr_headers(server, "CreateRepository", b"{}")
    del headers["Content-Length"]
    headers["Transfer-Encoding"] = "chunked"
    chunk = b"%x\r\n%s\r\n" % (MiB, b" " * MiB)
    with connection(server) as sock:
        assert send_quietly(sock, request_head("POST", "/", headers))
        sent = 0
        while sent <= shapes.OTHER_BODY_LIMIT + MiB and send_quietly(sock, chunk):
            sent += MiB
        answer = read_response(sock, timeout=5)
    assert answer.status == 413, answer
    assert _ecr_answer(answer.body)[0] == "RequestEntityTooLargeException"


def test_put_image_over_the_bound_is_413(server: DockyardProcess, repo: str) -> None:
    ecr = make_client(server.url, validate=False)  # botocore would refuse it client-side
    manifest = '{"schemaVersion":2,"x":"' + "a" * 13 * MiB + '"}'  # the bound is 12 MiB
    error = expect_error(
        "RequestEntityTooLargeException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=manifest,
        imageManifestMediaType=OCI_MANIFEST,
    )
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_the_largest_legitimate_put_image_fits(ecr: Any, v2: Any, repo: str) -> None:
    """A manifest at ECR's 4 MiB limit that escapes to twice its size, and what botocore
    sends for it, is taken."""
    image = make_image("hardening-large-manifest", layers=1)
    for blob in image.blobs:
        push_blob(v2, repo, blob)
    document = json.loads(image.manifest.data)
    document["annotations"] = {"quotes": ""}
    room = 4 * MiB - len(json.dumps(document, separators=(",", ":")))
    document["annotations"]["quotes"] = '"' * (room // 2)  # each is two bytes in the JSON
    manifest = json.dumps(document, separators=(",", ":"))
    assert 4 * MiB - 8 <= len(manifest) <= 4 * MiB
    started = time.monotonic()
    pushed = ecr.put_image(
        repositoryName=repo,
        imageManifest=manifest,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="large",
    )
    assert pushed["image"]["imageId"]["imageTag"] == "large"
    assert time.monotonic() - started < 30


def test_the_largest_layer_part_fits(ecr: Any, repo: str) -> None:
    upload = ecr.initiate_layer_upload(repositoryName=repo)
    part = bytes(range(256)) * (20 * MiB // 256)  # the model's limit for layerPartBlob
    done = ecr.upload_layer_part(
        repositoryName=repo,
        uploadId=upload["uploadId"],
        partFirstByte=0,
        partLastByte=len(part) - 1,
        layerPartBlob=part,
    )
    assert done["lastByteReceived"] == len(part) - 1


def test_body_limits_follow_the_model() -> None:
    assert shapes.body_limit("UploadLayerPart") == 4 * -(-20 * MiB // 3) + (64 << 10)
    assert shapes.body_limit("PutImage") == 12 * MiB + (64 << 10)
    assert (
        shapes.body_limit("DescribeRepositories")
        == shapes.body_limit(None)
        == shapes.OTHER_BODY_LIMIT
    )
