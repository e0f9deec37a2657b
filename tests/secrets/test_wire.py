"""Secrets Manager on the wire: the target prefix and the SigV4 service pick the door, errors
are AWS JSON 1.1 with the model's names, and what the door does not serve says so."""

from __future__ import annotations

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.ecr import REGION
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

JSON_11 = "application/x-amz-json-1.1"


def _post(server: DockyardProcess, target: str, body: bytes, service: str) -> httpx.Response:
    headers = {"Content-Type": JSON_11, "X-Amz-Target": target}
    request = AWSRequest(method="POST", url=f"{server.url}/", data=body, headers=headers)
    SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), service, REGION).add_auth(
        request
    )
    return httpx.post(f"{server.url}/", content=body, headers=dict(request.headers.items()))


def _error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(JSON_11)
    assert r.headers.get("x-amzn-requestid")
    body = r.json()
    assert body["__type"] == code, body
    # The member Secrets Manager's model names, as AWS sends it (ECR's is `message`).
    assert "message" not in body, body
    return str(body["Message"])


@pytest.mark.parametrize("action", ["RotateSecret", "BatchGetSecretValue", "Frobnicate"])
def test_what_is_not_served_is_an_unknown_operation(server: DockyardProcess, action: str) -> None:
    r = _post(server, f"secretsmanager.{action}", b"{}", "secretsmanager")
    _error(r, 400, "UnknownOperationException")


def test_a_request_signed_for_another_service_is_refused(server: DockyardProcess) -> None:
    r = _post(server, "secretsmanager.ListSecrets", b"{}", "ecr")
    _error(r, 403, "InvalidSignatureException")


def test_malformed_bodies(server: DockyardProcess) -> None:
    r = _post(server, "secretsmanager.ListSecrets", b"{not json", "secretsmanager")
    _error(r, 400, "SerializationException")
    r = _post(server, "secretsmanager.GetSecretValue", b'{"SecretId": 7}', "secretsmanager")
    _error(r, 400, "SerializationException")
    r = _post(server, "secretsmanager.GetSecretValue", b"{}", "secretsmanager")
    message = _error(r, 400, "ValidationException")
    assert "secretId" in message


def test_a_secret_s_error_is_spelt_as_its_model_spells_it(server: DockyardProcess) -> None:
    body = b'{"SecretId": "no-such-secret"}'
    r = _post(server, "secretsmanager.DescribeSecret", body, "secretsmanager")
    assert "can't find" in _error(r, 400, "ResourceNotFoundException")
    ecr = _post(
        server,
        "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        b'{"repositoryNames": ["no/such/repo"]}',
        "ecr",
    )
    assert ecr.status_code == 400 and set(ecr.json()) == {"__type", "message"}, ecr.text


def test_a_success_is_json_1_1(server: DockyardProcess) -> None:
    r = _post(server, "secretsmanager.ListSecrets", b"{}", "secretsmanager")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(JSON_11)
    assert isinstance(r.json()["SecretList"], list)
