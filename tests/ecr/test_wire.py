"""The AWS JSON 1.1 wire protocol of ``POST /``: targets, bodies, errors, request ids."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.ecr import REGION, expect_error
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

PREFIX = "AmazonEC2ContainerRegistry_V20150921."
JSON_11 = "application/x-amz-json-1.1"


def signed_post(
    endpoint: str,
    target: str | None,
    body: bytes,
    *,
    secret: str = ROOT_SECRET_ACCESS_KEY,
    sign: bool = True,
) -> httpx.Response:
    """POST / with ``body`` as is, SigV4-signed for ``ecr`` the way botocore signs."""
    headers = {"Content-Type": JSON_11}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers=headers)
    if sign:
        SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, secret), "ecr", REGION).add_auth(request)
    return httpx.post(f"{endpoint}/", content=body, headers=dict(request.headers.items()))


def wire_error(r: httpx.Response, status: int, code: str) -> str:
    """Assert an AWS JSON error response; return its message."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith(JSON_11)
    assert r.headers.get("x-amzn-requestid"), dict(r.headers)
    body = r.json()
    assert body["__type"] == code, body
    assert isinstance(body.get("message"), str), body
    return str(body["message"])


def test_signed_raw_request_works(endpoint: str) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRegistry", b"{}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(JSON_11)
    assert r.headers.get("x-amzn-requestid")
    assert r.json()["registryId"] == "000000000000"


def test_empty_body_is_an_empty_object(endpoint: str) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRegistry", b"")
    assert r.status_code == 200, r.text


def test_unknown_members_are_ignored(endpoint: str) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRegistry", b'{"fromTheFuture": [1, 2]}')
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "target",
    [
        PREFIX + "Frobnicate",
        PREFIX + "describeRepositories",  # case matters
        "AmazonEC2ContainerRegistry_V20150922.DescribeRepositories",
        "DescribeRepositories",
        "",
    ],
)
def test_unknown_operation(endpoint: str, target: str) -> None:
    r = signed_post(endpoint, target, b"{}")
    wire_error(r, 400, "UnknownOperationException")


def test_missing_target(endpoint: str) -> None:
    wire_error(signed_post(endpoint, None, b"{}"), 400, "UnknownOperationException")


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"repositoryNames": [', b"\xff\xfe{}", b"NaN", b'{"a": NaN}']
)
def test_malformed_json(endpoint: str, body: bytes) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRepositories", body)
    wire_error(r, 400, "SerializationException")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_body_that_is_not_an_object(endpoint: str, body: bytes) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRepositories", body)
    wire_error(r, 400, "SerializationException")


@pytest.mark.parametrize(
    "body",
    [
        {"repositoryNames": "just-one"},  # a string where a list belongs
        {"repositoryNames": [1]},  # a number where a string belongs
        {"maxResults": "10"},  # a string where an integer belongs
        {"maxResults": 2**40},  # outside Java's int
        {"registryId": {"a": 1}},
    ],
)
def test_wrong_json_types(endpoint: str, body: dict[str, Any]) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRepositories", json.dumps(body).encode())
    wire_error(r, 400, "SerializationException")


@pytest.mark.parametrize(
    ("target", "body", "member"),
    [
        ("DescribeRepositories", {"maxResults": 0}, "maxResults"),
        ("DescribeRepositories", {"maxResults": 1001}, "maxResults"),
        ("DescribeRepositories", {"registryId": "12345"}, "registryId"),
        ("DescribeRepositories", {"repositoryNames": []}, "repositoryNames"),
        ("CreateRepository", {}, "repositoryName"),
        ("CreateRepository", {"repositoryName": "UPPER"}, "repositoryName"),
        (
            "CreateRepository",
            {"repositoryName": "ok-name", "imageTagMutability": "SOMETIMES"},
            "imageTagMutability",
        ),
        (
            "CreateRepository",
            {"repositoryName": "ok-name", "encryptionConfiguration": {}},
            "encryptionConfiguration.encryptionType",
        ),
        (
            "BatchGetImage",
            {"repositoryName": "ok-name", "imageIds": [{"imageTag": ""}]},
            "imageIds.1.member.imageTag",
        ),
        (
            "GetAuthorizationToken",
            {"registryIds": ["1"]},
            "registryIds",
        ),
        (
            "UploadLayerPart",
            {
                "repositoryName": "ok-name",
                "uploadId": "not-a-uuid",
                "partFirstByte": 0,
                "partLastByte": 0,
                "layerPartBlob": "eA==",
            },
            "uploadId",
        ),
    ],
)
def test_shape_violation_names_the_member(
    endpoint: str, target: str, body: dict[str, Any], member: str
) -> None:
    r = signed_post(endpoint, PREFIX + target, json.dumps(body).encode())
    message = wire_error(r, 400, "InvalidParameterException")
    assert f"'{member}'" in message, message


def test_shape_violation_through_boto3(ecr_unvalidated: Any) -> None:
    err = expect_error("InvalidParameterException", ecr_unvalidated.list_images, repositoryName="x")
    assert "repositoryName" in err.response["Error"]["Message"]


def test_authentication_errors(endpoint: str) -> None:
    r = signed_post(endpoint, PREFIX + "DescribeRegistry", b"{}", sign=False)
    wire_error(r, 403, "MissingAuthenticationTokenException")
    r = signed_post(endpoint, PREFIX + "DescribeRegistry", b"{}", secret="wrong")
    wire_error(r, 403, "InvalidSignatureException")
    # A signature over one body does not cover another.
    good = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=b"{}",
        headers={"Content-Type": JSON_11, "X-Amz-Target": PREFIX + "DescribeRegistry"},
    )
    SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), "ecr", REGION).add_auth(good)
    r = httpx.post(f"{endpoint}/", content=b'{"x": 1}', headers=dict(good.headers.items()))
    wire_error(r, 403, "InvalidSignatureException")


def test_request_ids_are_unique(endpoint: str, ecr: Any) -> None:
    ids = set()
    for _ in range(3):
        ids.add(ecr.describe_registry()["ResponseMetadata"]["RequestId"])
        r = signed_post(endpoint, PREFIX + "Frobnicate", b"{}")
        ids.add(r.headers["x-amzn-requestid"])
    assert len(ids) == 6
    assert all(ids)


def test_errors_reach_boto3_with_message(ecr: Any) -> None:
    err = expect_error(
        "RepositoryNotFoundException",
        ecr.describe_repositories,
        repositoryNames=["does-not-exist-anywhere"],
    )
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.response["Error"]["Message"] == (
        "The repository with name 'does-not-exist-anywhere' does not exist in the registry "
        "with id '000000000000'"
    )
