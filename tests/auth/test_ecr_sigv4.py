"""SigV4 on the ECR API (``POST /``): the errors AWS clients know by name.

Requests are made with boto3 where it can make them, and otherwise signed with botocore's
own ``SigV4Auth`` (under a shifted clock, or altered after signing) and sent with httpx.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from unittest import mock

import boto3
import botocore
import botocore.auth
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.auth import (
    REGION,
    ROOT_KEY,
    SecretLedger,
    basic,
    dockyard_cli,
    ecr_client,
    ecr_error,
    login_password,
    new_user_key,
    wait_until,
)
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(60)

TARGET = "AmazonEC2ContainerRegistry_V20150921."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided."
)
SESSION_TOKEN = "FwoGZXIvYXdzEDockyardTestSessionToken//////////wEaDPretendSTS="


def expect_error(call: object, code: str) -> str:
    """Run `call` (a no-argument callable); it must fail with ECR error `code`. The message."""
    assert callable(call)
    with pytest.raises(ClientError) as info:
        call()
    got, message = ecr_error(info.value)
    assert got == code, (got, message)
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, status
    return message


def signed_request(
    url: str,
    operation: str,
    body: dict[str, object],
    *,
    key: tuple[str, str] = ROOT_KEY,
    token: str | None = None,
    shift: dt.timedelta = dt.timedelta(0),
) -> AWSRequest:
    """A JSON 1.1 request signed by botocore's SigV4Auth with its clock moved by `shift`."""
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + operation,
        },
    )
    real_now = botocore.auth.get_current_datetime
    with mock.patch.object(
        botocore.auth, "get_current_datetime", lambda *a, **k: real_now(*a, **k) + shift
    ):
        botocore.auth.SigV4Auth(Credentials(key[0], key[1], token), "ecr", REGION).add_auth(request)
    return request


def send(request: AWSRequest, **replace_headers: str) -> httpx.Response:
    headers = {k: v for k, v in request.headers.items()}
    headers.update(replace_headers)
    return httpx.post(request.url, content=request.body, headers=headers, timeout=30)


def wire_error(response: httpx.Response) -> tuple[str, str]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers.get("x-amzn-RequestId")
    body = response.json()
    return body["__type"].rsplit("#", 1)[-1].split(":")[0], body["message"]


# --- keys ----------------------------------------------------------------------------------


def test_root_key_works(auth_server: DockyardProcess) -> None:
    found = ecr_client(auth_server.url).describe_repositories()
    assert isinstance(found["repositories"], list)


def test_wrong_secret(auth_server: DockyardProcess) -> None:
    client = ecr_client(auth_server.url, (ROOT_KEY[0], ROOT_KEY[1][:-1] + "X"))
    message = expect_error(client.describe_repositories, "InvalidSignatureException")
    assert message.startswith(SIGNATURE_MISMATCH)
    # GetAuthorizationToken is no exception: no password for a bad signature.
    expect_error(client.get_authorization_token, "InvalidSignatureException")


def test_unknown_key(auth_server: DockyardProcess) -> None:
    client = ecr_client(auth_server.url, ("AKIANOSUCHKEY0000000", ROOT_KEY[1]))
    message = expect_error(client.describe_repositories, "UnrecognizedClientException")
    assert message == "The security token included in the request is invalid."


@pytest.mark.parametrize(
    "revoke", [["delete-access-key"], ["update-access-key", "--status", "Inactive"]]
)
def test_revoked_user_key(
    auth_server: DockyardProcess, ledger: SecretLedger, revoke: list[str]
) -> None:
    key = new_user_key(auth_server.data_dir, "sigv4-revoked", ledger)
    client = ecr_client(auth_server.url, key)
    client.describe_repositories()  # works, and warms the server's key cache
    dockyard_cli(auth_server.data_dir, "iam", revoke[0], key[0], *revoke[1:])

    def refused() -> bool:
        try:
            client.describe_repositories()
        except ClientError:
            return True
        return False

    took = wait_until(refused, timeout=1.5)
    assert took is not None, f"key still works 1.5 s after `iam {revoke[0]}`"
    expect_error(client.describe_repositories, "UnrecognizedClientException")
    expect_error(client.get_authorization_token, "UnrecognizedClientException")


# --- clock ---------------------------------------------------------------------------------


def test_signing_harness_control(auth_server: DockyardProcess) -> None:
    """Requests signed here with a correct clock (or one within 4 minutes) are accepted."""
    for minutes in (0, -4, 4):
        request = signed_request(
            auth_server.url, "DescribeRepositories", {}, shift=dt.timedelta(minutes=minutes)
        )
        r = send(request)
        assert r.status_code == 200, (minutes, r.text)
        assert "repositories" in r.json()


def test_signed_six_minutes_ago(auth_server: DockyardProcess) -> None:
    request = signed_request(
        auth_server.url, "DescribeRepositories", {}, shift=-dt.timedelta(minutes=6)
    )
    code, message = wire_error(send(request))
    assert code == "InvalidSignatureException"
    assert "Signature expired" in message, message


def test_signed_six_minutes_ahead(auth_server: DockyardProcess) -> None:
    request = signed_request(
        auth_server.url, "DescribeRepositories", {}, shift=dt.timedelta(minutes=6)
    )
    code, message = wire_error(send(request))
    assert code == "InvalidSignatureException"
    assert "not yet current" in message, message


def test_skewed_clock_through_boto3(auth_server: DockyardProcess) -> None:
    """The same through a real boto3 client whose clock is 6 minutes slow."""
    client = ecr_client(auth_server.url)
    real_now = botocore.auth.get_current_datetime
    with mock.patch.object(
        botocore.auth,
        "get_current_datetime",
        lambda *a, **k: real_now(*a, **k) - dt.timedelta(minutes=6),
    ):
        message = expect_error(client.describe_repositories, "InvalidSignatureException")
    assert "Signature expired" in message


# --- missing or altered signatures ---------------------------------------------------------


def test_no_authorization(auth_server: DockyardProcess) -> None:
    client = boto3.session.Session(region_name=REGION).client(
        "ecr",
        endpoint_url=auth_server.url,
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    expect_error(client.describe_repositories, "MissingAuthenticationTokenException")
    expect_error(client.get_authorization_token, "MissingAuthenticationTokenException")
    # And raw, with no header at all.
    r = httpx.post(
        auth_server.url + "/",
        content=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + "DescribeRepositories",
        },
    )
    assert wire_error(r)[0] == "MissingAuthenticationTokenException"


def test_body_altered_after_signing(auth_server: DockyardProcess) -> None:
    request = signed_request(auth_server.url, "DescribeRepositories", {})
    headers = dict(request.headers.items())
    r = httpx.post(request.url, content=b'{"maxResults": 1}', headers=headers)
    assert wire_error(r)[0] == "InvalidSignatureException"


# --- session tokens ------------------------------------------------------------------------


def test_session_token_is_signed(auth_server: DockyardProcess) -> None:
    """botocore signs X-Amz-Security-Token; changing it after signing breaks the signature."""
    request = signed_request(auth_server.url, "DescribeRepositories", {}, token=SESSION_TOKEN)
    assert "x-amz-security-token" in request.headers["Authorization"]
    r = send(request, **{"X-Amz-Security-Token": SESSION_TOKEN + "x"})
    # Refused: for the broken signature (or, where unknown tokens are refused, for that).
    assert wire_error(r)[0] in ("InvalidSignatureException", "UnrecognizedClientException")


def test_session_token_handled_consistently(
    auth_server: DockyardProcess, ledger: SecretLedger
) -> None:
    """A long-term key sent with a (signed) session token Dockyard never issued.

    Dockyard has no STS; whatever it decides about such a token, it must decide the same
    for every operation and every time. (What it decides is reported, not fixed, here.)
    """
    client = ecr_client(auth_server.url, session_token=SESSION_TOKEN)
    outcomes = []
    for call in [client.describe_repositories, client.get_authorization_token] * 2:
        try:
            result = call()
        except ClientError as exc:
            outcomes.append(ecr_error(exc)[0])
        else:
            outcomes.append("accepted")
            if "authorizationData" in result:
                password = ledger.add_password(login_password_from(result))
                # Accepted means the password works like any other of this key.
                r = httpx.get(auth_server.url + "/v2/", headers=basic(password))
                assert r.status_code == 200
    # The same request signed here (not by boto3's client) is treated the same way.
    raw = send(signed_request(auth_server.url, "DescribeRepositories", {}, token=SESSION_TOKEN))
    outcomes.append("accepted" if raw.status_code == 200 else wire_error(raw)[0])
    assert len(set(outcomes)) == 1, outcomes
    assert outcomes[0] in ("accepted", "UnrecognizedClientException"), outcomes


def login_password_from(result: dict[str, object]) -> str:
    data = result["authorizationData"]
    assert isinstance(data, list)
    decoded = base64.b64decode(data[0]["authorizationToken"]).decode()
    assert decoded.startswith("AWS:")
    return decoded[4:]


def test_password_of_root_key(auth_server: DockyardProcess, ledger: SecretLedger) -> None:
    """GetAuthorizationToken's shape: 12 h expiry, proxyEndpoint = the registry URL."""
    result = ecr_client(auth_server.url).get_authorization_token()
    (data,) = result["authorizationData"]
    assert data["proxyEndpoint"] == auth_server.url
    lifetime = data["expiresAt"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=11, minutes=58) < lifetime <= dt.timedelta(hours=12, minutes=1)
    password = ledger.add_password(login_password(auth_server.url))
    assert httpx.get(auth_server.url + "/v2/", headers=basic(password)).status_code == 200
