"""Docker Hub's naming conventions and the parsing of authentication challenges."""

from __future__ import annotations

import pytest

from dockyard.remote import Credentials, registry_base_url, resolve_repository
from dockyard.remote.auth import parse_challenges


@pytest.mark.parametrize(
    ("registry", "repository", "base_url", "name"),
    [
        ("docker.io", "alpine", "https://registry-1.docker.io", "library/alpine"),
        ("index.docker.io", "alpine", "https://registry-1.docker.io", "library/alpine"),
        (
            "https://registry-1.docker.io/",
            "bitnami/redis",
            "https://registry-1.docker.io",
            "bitnami/redis",
        ),
        ("registry.hub.docker.com", "/nginx/", "https://registry-1.docker.io", "library/nginx"),
        ("ghcr.io", "alpine", "https://ghcr.io", "alpine"),
        ("quay.io", "coreos/etcd", "https://quay.io", "coreos/etcd"),
        ("http://127.0.0.1:5000", "team/app", "http://127.0.0.1:5000", "team/app"),
        (
            "public.ecr.aws/",
            "docker/library/alpine",
            "https://public.ecr.aws",
            "docker/library/alpine",
        ),
    ],
)
def test_resolve_repository(registry: str, repository: str, base_url: str, name: str) -> None:
    resolved = resolve_repository(registry, repository)
    assert (resolved.base_url, resolved.repository) == (base_url, name)
    assert registry_base_url(registry) == base_url


def test_challenges() -> None:
    hub = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull"'
    )
    [bearer] = parse_challenges([hub])
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/alpine:pull",
    }
    both = parse_challenges(['Basic realm="a \\"quoted\\" realm", charset=UTF-8, Bearer realm=x'])
    assert [(c.scheme, c.params) for c in both] == [
        ("basic", {"realm": 'a "quoted" realm', "charset": "UTF-8"}),
        ("bearer", {"realm": "x"}),
    ]
    assert parse_challenges([]) == []


def test_credentials_hide_the_password() -> None:
    credentials = Credentials("user", "s3cret-password")
    assert "s3cret-password" not in repr(credentials)
    assert credentials.basic() == "Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ="
