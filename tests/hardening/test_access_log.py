"""``--access-log`` records every request without the credentials some URLs carry."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from dockyard.api.redact import redact_target
from tests.hardening.conftest import ServerLog
from tests.support.ecr import upload_layer
from tests.support.servers import DockyardProcess


def _logged(log: ServerLog, needle: str, seconds: float = 5) -> str:
    deadline = time.monotonic() + seconds
    while needle not in log.text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return log.text()


def test_download_url_token_is_not_logged(ecr: Any, repo: str, log: ServerLog) -> None:
    digest = upload_layer(ecr, repo, b"layer bytes for a download URL")
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    fetched = httpx.get(url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == b"layer bytes for a download URL"
    text = _logged(log, '"GET /_dockyard/layers/')
    assert '"GET /_dockyard/layers/REDACTED HTTP/1.1" 200' in text, text
    assert token not in text and unquote(token) not in text
    assert token.split(".")[-1] not in text  # not even the signature part


def test_presigned_query_credentials_are_not_logged(
    server: DockyardProcess, log: ServerLog
) -> None:
    query = "X-Amz-Credential=AKIAEXAMPLE%2F20250101&X-Amz-Signature=feedface1234&n=5"
    assert httpx.get(f"{server.url}/v2/?{query}", timeout=30).status_code == 401
    text = _logged(log, '"GET /v2/?')
    assert "X-Amz-Signature=REDACTED" in text and "X-Amz-Credential=REDACTED" in text, text
    assert "feedface1234" not in text and "AKIAEXAMPLE" not in text
    assert "n=5" in text  # what is not a credential stays, for the operator


def test_redact_target() -> None:
    assert redact_target("/_dockyard/layers/abc.def") == "/_dockyard/layers/REDACTED"
    assert redact_target("/v2/a/tags/list?n=2&last=b") == "/v2/a/tags/list?n=2&last=b"
    assert redact_target("/?access_token=x&Password=y&sig=z&scope=s") == (
        "/?access_token=REDACTED&Password=REDACTED&sig=REDACTED&scope=s"
    )
