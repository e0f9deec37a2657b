"""The shared endpoint in process: errors in the service's own protocol and codes, statuses
from the model, and the model's sensitive members never in a log."""

from __future__ import annotations

import logging
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.parsers import QueryParser
from starlette.applications import Starlette
from starlette.routing import Route

from dockyard.api.aws.endpoint import aws_endpoint
from dockyard.api.aws.errors import QUERY_AUTH, ErrorMap
from dockyard.api.aws.model import load_model
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.router import Router
from dockyard.api.aws.service import Call, Service
from dockyard.api.ecr.service import SERVICE as ECR
from dockyard.auth import sigv4
from dockyard.domain import errors as e
from dockyard.domain.identity import Caller, Principal, PrincipalKind

with warnings.catch_warnings():  # starlette would rather have httpx2; httpx does the job
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "Pa55-word-that-must-never-be-logged"
SECRET = "s3cret/key/that/must/never/be/logged0"
CALLER = Caller(Principal("000000000000", "root", PrincipalKind.ROOT), "AKIAEXAMPLE")
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/iam/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)

IAM_MODEL = load_model("iam")
OPERATIONS = OperationRegistry[Call](IAM_MODEL)


@OPERATIONS.operation("CreateLoginProfile")
async def create_login_profile(ctx: Call, body: dict[str, Any]) -> dict[str, Any]:
    return {"LoginProfile": {"UserName": body["UserName"], "CreateDate": 0}}


@OPERATIONS.operation("CreateAccessKey")
async def create_access_key(ctx: Call, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "AccessKey": {
            "UserName": "u",
            "AccessKeyId": "AKIA" + "A" * 16,
            "Status": "Active",
            "SecretAccessKey": SECRET,
        }
    }


@OPERATIONS.operation("GetUser")
async def get_user(ctx: Call, body: dict[str, Any]) -> dict[str, Any]:
    raise e.NameUnknown(body.get("UserName", ""), "000000000000")


@OPERATIONS.operation("DeleteUser")
async def delete_user(ctx: Call, body: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("a bug")


IAM = Service(
    model=IAM_MODEL,
    protocol=QueryProtocol(),
    operations=OPERATIONS,
    errors=ErrorMap(
        IAM_MODEL, {**QUERY_AUTH, e.NameUnknown: "NoSuchEntityException"}, "ServiceFailureException"
    ),
    context=lambda call: call,
    constraint_kind="ValidationError",
)


class FakeIdentity:
    def __init__(self) -> None:
        self.refuse: Exception | None = None

    async def precheck(self, request: sigv4.ReceivedRequest, service: str) -> str:
        assert service == "iam"
        if self.refuse is not None:
            raise self.refuse
        return "us-east-1"

    async def authenticate(self, request: sigv4.ReceivedRequest, service: str) -> Caller:
        return CALLER


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def client(identity: FakeIdentity) -> TestClient:
    app = Starlette(
        routes=[Route("/", aws_endpoint(Router([ECR, IAM], default=ECR)), methods=["POST"])]
    )
    app.state.registry = SimpleNamespace(identity=identity)
    app.state.public_url = "http://testserver"
    return TestClient(app)


def post(client: TestClient, form: dict[str, str]) -> Any:
    return client.post("/", data={"Version": "2010-05-08", **form}, headers={"Authorization": AUTH})


def error_of(response: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = QueryParser().parse(
        {
            "body": response.content,
            "headers": dict(response.headers),
            "status_code": response.status_code,
        },
        None,
    )
    return parsed["Error"]


def test_sensitive_members_never_reach_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dockyard"):
        r = post(client, {"Action": "CreateLoginProfile", "UserName": "ci", "Password": PASSWORD})
        assert r.status_code == 200, r.text
        r = post(client, {"Action": "CreateAccessKey"})
        assert r.status_code == 200 and SECRET in r.text
    logged = caplog.text
    assert "CreateLoginProfile" in logged and "'UserName': 'ci'" in logged  # it did log
    assert "'Password': 'REDACTED'" in logged
    assert PASSWORD not in logged and SECRET not in logged


def test_unknown_action_is_invalid_action(client: TestClient) -> None:
    r = post(client, {"Action": "Frobnicate"})
    assert r.status_code == 400
    assert error_of(r) == {
        "Type": "Sender",
        "Code": "InvalidAction",
        "Message": "Could not find operation Frobnicate for version 2010-05-08",
    }
    # In the model but not served here: the same answer.
    r = post(client, {"Action": "ListRoles"})
    assert error_of(r)["Code"] == "InvalidAction"


def test_domain_errors_take_code_and_status_from_the_model(client: TestClient) -> None:
    r = post(client, {"Action": "GetUser", "UserName": "nobody"})
    assert r.status_code == 404
    assert error_of(r)["Code"] == "NoSuchEntity"
    assert r.headers["x-amzn-requestid"]


def test_a_bug_is_the_model_s_fault_error(client: TestClient) -> None:
    r = post(client, {"Action": "DeleteUser", "UserName": "u"})
    assert r.status_code == 500
    assert error_of(r) == {
        "Type": "Receiver",
        "Code": "ServiceFailure",
        "Message": "internal error",
    }


def test_validation_errors(client: TestClient) -> None:
    r = post(client, {"Action": "CreateLoginProfile", "UserName": "a b", "Password": PASSWORD})
    assert r.status_code == 400
    error = error_of(r)
    assert error["Code"] == "ValidationError"
    assert "at 'userName' failed to satisfy constraint" in error["Message"]


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (sigv4.UnknownAccessKey("AKIAEXAMPLE"), "InvalidClientTokenId"),
        (sigv4.MissingAuthentication(), "MissingAuthenticationToken"),
        (sigv4.SignatureMismatch("AKIAEXAMPLE"), "SignatureDoesNotMatch"),
    ],
)
def test_authentication_errors_in_query_form(
    client: TestClient, identity: FakeIdentity, refusal: Exception, code: str
) -> None:
    identity.refuse = refusal
    r = post(client, {"Action": "GetUser"})
    assert r.status_code == 403
    assert error_of(r)["Code"] == code


def test_a_body_over_the_bound_is_refused_before_it_is_read(client: TestClient) -> None:
    r = client.post("/", content=b"x" * ((2 << 20) + 1), headers={"Authorization": AUTH})
    assert r.status_code == 413
    assert error_of(r)["Code"] == "RequestEntityTooLarge"


def test_a_sensitive_value_is_not_echoed_in_a_validation_error(client: TestClient) -> None:
    secret = "no-euro-sign-in-passwords-€"
    r = post(client, {"Action": "CreateLoginProfile", "UserName": "ci", "Password": secret})
    assert r.status_code == 400
    message = error_of(r)["Message"]
    assert message.startswith("1 validation error detected: Value at 'password' failed")
    assert secret not in r.text
