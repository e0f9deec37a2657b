"""The API version check endpoint."""

from __future__ import annotations

import httpx


def test_api_version_check(http: httpx.Client) -> None:
    # end-1: GET /v2/ answers 200 when the registry implements the spec (no auth configured).
    r = http.get("/v2/")
    assert r.status_code == 200
    # Docker's legacy header: clients such as docker use it to recognise a v2 registry.
    assert r.headers.get("docker-distribution-api-version") == "registry/2.0"


def test_api_version_check_head(http: httpx.Client) -> None:
    r = http.head("/v2/")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers.get("docker-distribution-api-version") == "registry/2.0"
