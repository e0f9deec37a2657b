"""JSON nested without end, and JSON Python cannot read, is a client error everywhere the
server reads JSON: manifests on both doors, ECR request bodies and the values in them,
lifecycle policies, and the files of a scanned image."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.hardening.conftest import ServerLog
from tests.hardening.rawhttp import (
    connection,
    ecr_headers,
    read_response,
    request_head,
    send_quietly,
)
from tests.support.ecr import expect_error
from tests.support.images import OCI_MANIFEST
from tests.support.servers import DockyardProcess

DEEP = 100_000  # what the adversarial run sent


def deep_manifest(levels: int = DEEP) -> bytes:
    """A manifest whose annotations hold an array nested ``levels`` deep."""
    nested = "[" * levels + "]" * levels
    return (
        '{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST + '","config":{},"layers":[],'
        '"annotations":{"x":' + nested + "}}"
    ).encode()


HUGE_NUMBER = b'{"schemaVersion":2,"config":{},"layers":[],"size":' + b"9" * 5000 + b"}"


def assert_quiet(log: ServerLog) -> None:
    text = log.text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]


@pytest.mark.parametrize("payload", [deep_manifest(), HUGE_NUMBER], ids=["deep", "huge-number"])
def test_v2_manifest_put_is_manifest_invalid(
    v2: httpx.Client, repo: str, log: ServerLog, payload: bytes
) -> None:
    r = v2.put(f"/v2/{repo}/manifests/v1", content=payload, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400, r.text[:500]
    assert r.json()["errors"][0]["code"] == "MANIFEST_INVALID"
    assert_quiet(log)


@pytest.mark.parametrize("payload", [deep_manifest(), HUGE_NUMBER], ids=["deep", "huge-number"])
def test_put_image_is_invalid_parameter(
    ecr: Any, repo: str, log: ServerLog, payload: bytes
) -> None:
    expect_error(
        "InvalidParameterException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=payload.decode(),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v1",
    )
    assert_quiet(log)


def test_next_token_nested_deeply_is_invalid_parameter(ecr: Any, repo: str) -> None:
    token = base64.urlsafe_b64encode(("[" * DEEP + "]" * DEEP).encode()).decode()
    for call in (ecr.list_images, ecr.describe_images):
        expect_error("InvalidParameterException", call, repositoryName=repo, nextToken=token)


def test_lifecycle_policy_nested_deeply_is_invalid_parameter(ecr: Any, repo: str) -> None:
    levels = 15_000  # the most the policy text's 30,720 characters can nest
    text = '{"rules":' + "[" * levels + "]" * levels + "}"
    error = expect_error(
        "InvalidParameterException",
        ecr.put_lifecycle_policy,
        repositoryName=repo,
        lifecyclePolicyText=text,
    )
    assert "not valid JSON" in error.response["Error"]["Message"]


def test_ecr_body_nested_deeply_is_serialization_error(server: DockyardProcess) -> None:
    body = b'{"repositoryName":"a/b","x":' + b"[" * DEEP + b"]" * DEEP + b"}"
    with connection(server) as sock:
        assert send_quietly(
            sock, request_head("POST", "/", ecr_headers(server, "DescribeRepositories", body))
        )
        assert send_quietly(sock, body)
        answer = read_response(sock)
    assert answer.status == 400, answer
    assert json.loads(answer.body)["__type"] == "SerializationException"
