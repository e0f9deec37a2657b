"""What the immutability tests share: a server seen through /v2 and the ECR API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from botocore.client import BaseClient

from tests.support.auth import basic, ecr_client, oci_error
from tests.support.images import (
    MANIFEST_ACCEPT,
    Blob,
    Image,
    make_config,
    make_layer,
    make_manifest,
    push_blob,
)
from tests.support.servers import DockyardProcess

MODES = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")


def immutable_message(tag: str, repo: str) -> str:
    return (
        f"The image tag '{tag}' already exists in the '{repo}' repository and cannot be "
        "overwritten because the tag is immutable."
    )


@dataclass
class Target:
    """A running Dockyard, with a root registry password."""

    server: DockyardProcess
    password: str
    _ecr: BaseClient | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ecr(self) -> BaseClient:
        if self._ecr is None:
            self._ecr = ecr_client(self.url)
        return self._ecr

    @contextmanager
    def v2(self) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.url, headers=basic(self.password), timeout=60) as c:
            yield c

    def create_repository(self, name: str, mode: str, filters: Sequence[str] = ()) -> None:
        args: dict[str, Any] = {"repositoryName": name, "imageTagMutability": mode}
        if filters:
            args["imageTagMutabilityExclusionFilters"] = [
                {"filterType": "WILDCARD", "filter": f} for f in filters
            ]
        made = self.ecr.create_repository(**args)["repository"]
        assert made["imageTagMutability"] == mode


def variants(seed: str, count: int) -> tuple[list[Blob], list[Blob]]:
    """(blobs, manifests): `count` distinct manifests over one config and one layer."""
    layer = make_layer(f"immutability/{seed}", files=1, max_size=256)
    config = make_config([layer])
    manifests = [
        make_manifest(config, [layer], annotations={"org.dockyard.test.variant": str(i)})
        for i in range(count)
    ]
    return [config, layer], manifests


def push_blobs(client: httpx.Client, repo: str, blobs: Sequence[Blob]) -> None:
    for blob in blobs:
        push_blob(client, repo, blob)


def put_manifest(client: httpx.Client, repo: str, tag: str, manifest: Blob) -> httpx.Response:
    return client.put(
        f"/v2/{repo}/manifests/{quote(tag, safe='')}",
        content=manifest.data,
        headers={"Content-Type": manifest.media_type},
    )


def tag_digest(client: httpx.Client, repo: str, tag: str) -> str | None:
    r = client.head(
        f"/v2/{repo}/manifests/{quote(tag, safe='')}", headers={"Accept": MANIFEST_ACCEPT}
    )
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.status_code
    return r.headers["Docker-Content-Digest"]


def assert_tag_invalid(response: httpx.Response, tag: str, repo: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    error = oci_error(response)
    assert error["code"] == "TAG_INVALID", error
    assert error["message"] == immutable_message(tag, repo)


def put_image(ecr: BaseClient, repo: str, tag: str, manifest: Blob) -> dict[str, Any]:
    result: dict[str, Any] = ecr.put_image(
        repositoryName=repo,
        imageManifest=manifest.data.decode(),
        imageManifestMediaType=manifest.media_type,
        imageTag=tag,
    )
    return result


def json_of(manifest: Blob | Image) -> Any:
    blob = manifest.manifest if isinstance(manifest, Image) else manifest
    return json.loads(blob.data)
