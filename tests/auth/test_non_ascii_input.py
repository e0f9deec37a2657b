"""Text that is not ASCII where the server expects credentials or numbers: never a 500.

Header values are bytes on the wire and a client can send any of them. Each door that reads
credentials is tried: Basic and Bearer on ``/v2``, the token endpoint (``GET /``), SigV4 on
``POST /`` and the signed layer URLs of GetDownloadUrlForLayer; then the numbers ``/v2``
reads from text (``Content-Range``, ``n``), where ``"²"`` passes ``str.isdigit()`` but not
``int()``. The server's log must not gain a traceback from any of it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.auth import assert_unauthorized, basic, challenge, ecr_client
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(60)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


# Authorization values for /v2 and the token endpoint.
HOSTILE_AUTHORIZATION = {
    "basic-raw-bytes": b"Basic \xff\xfe\xfd",
    "basic-raw-bytes-after-base64": b"Basic " + _b64(b"AWS:x") + b"\xe9",
    "scheme-not-ascii": b"B\xe4sic " + _b64(b"AWS:x"),
    "password-not-utf8": b"Basic " + _b64(b"AWS:\xff\xfe.\xfd"),
    # Valid UTF-8 that is not ASCII reaches the token signature check.
    "password-not-ascii": b"Basic " + _b64("AWS:é.é".encode()),
    "password-signature-not-ascii": b"Basic " + _b64("AWS:eyJhIjoxfQ.ñ".encode()),
    "bearer-raw-bytes": b"Bearer \xff\xfe",
    "bearer-not-ascii": b"Bearer " + "é.é".encode(),
    "only-high-bytes": bytes(range(0x80, 0x100)),
}

# SigV4 Authorization values for POST / (the ECR API).
_SIGNATURE = b"0" * 64
HOSTILE_SIGV4 = {
    "credential-not-ascii": b"AWS4-HMAC-SHA256 Credential=AKIA\xff/20260101/us-east-1/ecr/"
    b"aws4_request, SignedHeaders=host;x-amz-date, Signature=" + _SIGNATURE,
    "signed-headers-not-ascii": b"AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/ecr/"
    b"aws4_request, SignedHeaders=h\xf6st, Signature=" + _SIGNATURE,
    "signature-not-ascii": b"AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/ecr/"
    b"aws4_request, SignedHeaders=host, Signature=" + b"\xe9" * 64,
    "scheme-not-ascii": b"AWS4-HMAC-SHA256\xa0Credential=\xff",
}

# Tokens in the path of a signed layer URL (percent-encoded, as a client sends them).
HOSTILE_LAYER_TOKENS = {
    "utf8-not-ascii": "%C3%A9.%C3%A9",
    "signature-byte-ff": "eyJhIjoxfQ.%FF",
    "payload-not-ascii": "%C3%B1%C3%B1.abc",
}


@pytest.fixture
def log_check(auth_server: DockyardProcess) -> Iterator[None]:
    """Fails the test if the server logs a traceback while it runs."""
    before = len(auth_server.log_text())
    yield
    time.sleep(0.2)  # let the server's log writes land
    added = auth_server.log_text()[before:]
    assert "Traceback" not in added, added[-3000:]
    assert " 500 " not in added, added[-3000:]


@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("value", HOSTILE_AUTHORIZATION.values(), ids=HOSTILE_AUTHORIZATION)
def test_registry_refuses_undecodable_credentials(
    auth_server: DockyardProcess, v2: httpx.Client, value: bytes
) -> None:
    for method, path in [("GET", "/v2/"), ("HEAD", "/v2/"), ("PUT", "/v2/r/manifests/t")]:
        r = v2.request(method, path, headers={"Authorization": value})
        assert_unauthorized(auth_server, r)


@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("value", HOSTILE_AUTHORIZATION.values(), ids=HOSTILE_AUTHORIZATION)
def test_token_endpoint_refuses_undecodable_credentials(
    auth_server: DockyardProcess, v2: httpx.Client, value: bytes
) -> None:
    r = v2.get("/", params={"service": "ecr.amazonaws.com"}, headers={"Authorization": value})
    assert r.status_code == 401, r.text
    assert r.headers.get_list("WWW-Authenticate") == [challenge(auth_server)]
    assert "token" not in r.json()


@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("value", HOSTILE_SIGV4.values(), ids=HOSTILE_SIGV4)
def test_ecr_api_refuses_undecodable_signatures(v2: httpx.Client, value: bytes) -> None:
    r = v2.post(
        "/",
        content=b"{}",
        headers={
            "Authorization": value,
            "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Date": b"2026\xff101T000000Z",
        },
    )
    assert r.status_code in (400, 403), r.text
    assert r.json()["__type"] in (
        "IncompleteSignatureException",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    )


@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("token", HOSTILE_LAYER_TOKENS.values(), ids=HOSTILE_LAYER_TOKENS)
def test_layer_url_refuses_undecodable_token(v2: httpx.Client, token: str) -> None:
    r = v2.get(f"/_dockyard/layers/{token}")
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["code"] == "DENIED"


# "²" and "³" are Latin-1 bytes 0xb2 and 0xb3 in a header, UTF-8 in a query string.
@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("value", [b"bytes=\xb2-\xb3", b"\xb2-\xb3", b"0-\xb3/4"])
def test_upload_content_range_not_ascii(
    auth_server: DockyardProcess, root_password: str, repo_name: str, value: bytes
) -> None:
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        started = c.post(f"/v2/{repo_name}/blobs/uploads/")
        assert started.status_code == 202, started.text
        r = c.patch(started.headers["Location"], content=b"ab", headers={"Content-Range": value})
        assert r.status_code in (400, 416), r.text
        assert r.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"


@pytest.mark.usefixtures("log_check")
@pytest.mark.parametrize("path", ["/v2/_catalog", "/v2/some/repo/tags/list"])
def test_page_size_not_ascii(auth_server: DockyardProcess, root_password: str, path: str) -> None:
    r = httpx.get(
        auth_server.url + path, params={"n": "²"}, headers=basic(root_password), timeout=30
    )
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"
