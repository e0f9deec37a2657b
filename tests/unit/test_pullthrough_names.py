"""Which upstream repository a cached repository mirrors: the name after the rule's prefix,
under the rule's upstreamRepositoryPrefix when it has one, the whole name under ROOT, and
Docker Hub's ``library/`` for a single name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.domain.cache_rules import CacheRule, Upstream, UpstreamKind
from dockyard.domain.names import RepositoryName
from dockyard.remote import resolve_repository
from dockyard.services.pullthrough_upstreams import upstream_name

EPOCH = datetime.fromtimestamp(0, UTC)


def _rule(
    prefix: str, kind: UpstreamKind, url: str, upstream_prefix: str | None = None
) -> CacheRule:
    return CacheRule(prefix, Upstream(kind, url), upstream_prefix, None, None, EPOCH, EPOCH)


@pytest.mark.parametrize(
    ("rule", "name", "base_url", "repository"),
    [
        (
            _rule("docker-hub", UpstreamKind.DOCKER_HUB, "registry-1.docker.io"),
            "docker-hub/library/alpine",
            "https://registry-1.docker.io",
            "library/alpine",
        ),
        (  # Docker Hub's official images are library/<name> even when asked without it
            _rule("docker-hub", UpstreamKind.DOCKER_HUB, "registry-1.docker.io"),
            "docker-hub/alpine",
            "https://registry-1.docker.io",
            "library/alpine",
        ),
        (
            _rule("quay", UpstreamKind.QUAY, "quay.io"),
            "quay/prometheus/node-exporter",
            "https://quay.io",
            "prometheus/node-exporter",
        ),
        (
            _rule("mirror", UpstreamKind.GENERIC, "http://10.0.0.5:5000", "team"),
            "mirror/app/api",
            "http://10.0.0.5:5000",
            "team/app/api",
        ),
        (
            _rule("ROOT", UpstreamKind.GENERIC, "https://registry.example.com"),
            "team/app",
            "https://registry.example.com",
            "team/app",
        ),
    ],
)
def test_the_upstream_repository_of_a_cached_one(
    rule: CacheRule, name: str, base_url: str, repository: str
) -> None:
    remote = resolve_repository(
        rule.upstream.base_url, upstream_name(rule, RepositoryName.parse(name))
    )
    assert (remote.base_url, remote.repository) == (base_url, repository)
