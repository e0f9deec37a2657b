"""Which service a POST / is for: by X-Amz-Target, else by the SigV4 scope's service."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.aws.errors import ErrorMap
from dockyard.api.aws.model import load_model
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.router import Router, scope_service
from dockyard.api.aws.service import Service
from dockyard.api.ecr.service import SERVICE as ECR


def _query_service(name: str) -> Service:
    model = load_model(name)
    return Service(
        model=model,
        protocol=QueryProtocol(),
        operations=OperationRegistry[Any](model),
        errors=ErrorMap(model, {}, "InternalFailure"),
        context=lambda call: call,
        constraint_kind="ValidationError",
    )


IAM, STS = _query_service("iam"), _query_service("sts")
ROUTER = Router([ECR, IAM, STS], default=ECR)


def _auth(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )


def test_json_services_by_target_prefix() -> None:
    headers = {"x-amz-target": "AmazonEC2ContainerRegistry_V20150921.ListImages"}
    assert ROUTER.route(headers) is ECR
    # The target wins over the scope: ECR then refuses the scope as ECR always has.
    assert ROUTER.route({**headers, "authorization": _auth("iam")}) is ECR


@pytest.mark.parametrize(("scope", "service"), [("iam", IAM), ("sts", STS), ("ecr", ECR)])
def test_query_services_by_signing_scope(scope: str, service: Service) -> None:
    assert ROUTER.route({"authorization": _auth(scope)}) is service


def test_presigned_scopes_route_too() -> None:
    query = "X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fsts%2Faws4_request"
    assert ROUTER.route({}, query) is STS


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Basic QVdTOnNlY3JldA=="},
        {"authorization": _auth("s3")},
        {"authorization": "AWS4-HMAC-SHA256 Credential=garbage"},
        {"x-amz-target": "DynamoDB_20120810.GetItem"},
    ],
)
def test_everything_else_goes_to_the_default(headers: dict[str, str]) -> None:
    assert ROUTER.route(headers) is ECR


def test_scope_service() -> None:
    assert scope_service({"authorization": _auth("iam")}, "") == "iam"
    assert scope_service({}, "") is None
    assert scope_service({"authorization": "AWS4-HMAC-SHA256 Credential=a/b/c"}, "") is None
