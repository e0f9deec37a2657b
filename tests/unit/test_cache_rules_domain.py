"""The pure rules of pull-through cache rules and secrets: which upstream a URL names,
which rule a repository falls under, how stage labels move, what a credentials secret
holds."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from dockyard.api.aws.model import model_path
from dockyard.domain.cache_rules import (
    CacheRule,
    Upstream,
    UpstreamKind,
    parse_credentials,
    resolve_upstream,
    rule_for,
)
from dockyard.domain.errors import InvalidRequest, UpstreamUnsupported
from dockyard.domain.names import RepositoryName
from dockyard.domain.secrets import move_label, restage, retagged


def test_the_kinds_are_botocore_s_plus_the_generic_one() -> None:
    model = json.loads(gzip.decompress(model_path("ecr").read_bytes()))
    wire = {k.wire for k in UpstreamKind} - {None}
    assert wire == set(model["shapes"]["UpstreamRegistry"]["enum"])
    assert UpstreamKind.GENERIC.wire is None


@pytest.mark.parametrize(
    ("url", "registry", "kind", "stored", "base"),
    [
        ("registry-1.docker.io", None, "docker-hub", "registry-1.docker.io", None),
        ("https://ghcr.io", "github-container-registry", "github-container-registry", "ghcr.io", None),  # noqa: E501
        ("quay.io/", "quay", "quay", "quay.io", None),
        ("cgr.dev", None, "chainguard", "cgr.dev", None),
        ("myregistry01.azurecr.io", None, "azure-container-registry", None, None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", None, "ecr", None, None),
        ("http://127.0.0.1:5000/", None, "generic", "http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://[::1]:8443", None, "generic", "https://[::1]:8443", "https://[::1]:8443"),
        ("https://quay.io", None, "generic", "https://quay.io", "https://quay.io"),
    ],
)  # fmt: skip
def test_upstreams(
    url: str, registry: str | None, kind: str, stored: str | None, base: str | None
) -> None:
    upstream = resolve_upstream(url, registry)
    assert upstream.kind == UpstreamKind(kind)
    assert upstream.url == (stored or url)
    assert upstream.base_url == (base or f"https://{upstream.url}")


def test_an_ecr_upstream_names_its_account() -> None:
    upstream = resolve_upstream("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ecr")
    assert upstream.ecr_account == "123456789012"
    assert resolve_upstream("quay.io", None).ecr_account is None


@pytest.mark.parametrize(
    ("url", "registry", "error"),
    [
        ("localhost:5000", None, UpstreamUnsupported),
        ("docker.io", None, UpstreamUnsupported),
        ("ftp://registry.example.com", None, UpstreamUnsupported),
        ("https://registry.example.com/v2/", None, UpstreamUnsupported),
        ("https://registry.example.com?x=1", None, UpstreamUnsupported),
        ("https://registry.example.com:port", None, UpstreamUnsupported),
        ("https://user:pass@registry.example.com", None, InvalidRequest),
        ("quay.io", "docker-hub", InvalidRequest),
        ("http://quay.io", "quay", InvalidRequest),
        ("", None, InvalidRequest),
        ("h" * 2049, None, InvalidRequest),
    ],
)
def test_upstreams_refused(url: str, registry: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve_upstream(url, registry)


def _rule(prefix: str) -> CacheRule:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    upstream = Upstream(UpstreamKind.QUAY, "quay.io")
    return CacheRule(prefix, upstream, None, None, None, at, at)


def test_the_longest_prefix_wins_and_root_takes_the_rest() -> None:
    rules = [_rule("hub"), _rule("hub/library"), _rule("ROOT"), _rule("quay")]

    def chosen(name: str) -> str | None:
        found = rule_for(rules, RepositoryName.parse(name))
        return None if found is None else found.prefix

    assert chosen("hub/library/alpine") == "hub/library"
    assert chosen("hub/bitnami/redis") == "hub"
    assert chosen("hubble/app") == "ROOT"  # a prefix ends at a path boundary
    assert chosen("hub") == "ROOT"
    assert rule_for(rules[:2], RepositoryName.parse("other/app")) is None


def test_stage_labels_move() -> None:
    current = {"v1": ("AWSCURRENT", "blue"), "v2": ("AWSPREVIOUS",), "v3": ("green",)}
    assert restage(current, "v4", ["AWSCURRENT"]) == {
        "v1": ("blue", "AWSPREVIOUS"),
        "v3": ("green",),
        "v4": ("AWSCURRENT",),
    }
    assert restage(current, "v4", ["green"]) == {
        "v1": ("AWSCURRENT", "blue"),
        "v2": ("AWSPREVIOUS",),
        "v4": ("green",),
    }
    # Putting the current version again changes nothing.
    assert restage(current, "v1", ["AWSCURRENT"]) == current
    # Back to the previous version: the two labels swap, none is held twice.
    assert restage(current, "v2", ["AWSCURRENT"]) == {
        "v1": ("blue", "AWSPREVIOUS"),
        "v2": ("AWSCURRENT",),
        "v3": ("green",),
    }


def test_update_secret_version_stage_rules() -> None:
    current = {"v1": ("AWSCURRENT",), "v2": ("AWSPREVIOUS", "blue")}
    assert move_label(current, "green", None, "v1") == {
        "v1": ("AWSCURRENT", "green"),
        "v2": ("AWSPREVIOUS", "blue"),
    }
    assert move_label(current, "blue", "v2", "v1") == {
        "v1": ("AWSCURRENT", "blue"),
        "v2": ("AWSPREVIOUS",),
    }
    assert move_label(current, "blue", "v2", None) == {
        "v1": ("AWSCURRENT",),
        "v2": ("AWSPREVIOUS",),
    }
    assert move_label(current, "blue", None, "v2") == current  # already there
    assert move_label(current, "AWSCURRENT", "v1", "v2") == {
        "v1": ("AWSPREVIOUS",),
        "v2": ("blue", "AWSCURRENT"),
    }
    # Labelless versions go.
    assert move_label({"v1": ("AWSCURRENT",), "v2": ("x",)}, "x", "v2", None) == {
        "v1": ("AWSCURRENT",)
    }
    refused = [
        ("blue", None, "v1"),  # held by v2, which the request does not name
        ("blue", "v1", "v1"),  # named the wrong holder
        ("AWSCURRENT", "v1", None),  # removed, not moved
        ("green", None, "v9"),  # no such version
        ("green", None, None),  # nothing asked
    ]
    for stage, remove_from, move_to in refused:
        with pytest.raises(InvalidRequest):
            move_label(current, stage, remove_from, move_to)


def test_tags_merge_in_place_and_stay_within_the_limit() -> None:
    tags = (("team", "a"), ("env", "ci"))
    assert retagged(tags, add=[("team", "b"), ("new", "1")]) == (
        ("team", "b"),
        ("env", "ci"),
        ("new", "1"),
    )
    assert retagged(tags, remove=["team", "absent"]) == (("env", "ci"),)
    full = tuple((f"k{n}", "v") for n in range(50))
    assert retagged(full, add=[("k0", "w")])[0] == ("k0", "w")
    with pytest.raises(InvalidRequest):
        retagged(full, add=[("k50", "v")])


def test_credentials_are_a_username_and_an_access_token() -> None:
    found = parse_credentials('{"username": "bot", "accessToken": "t0ken", "extra": 1}')
    assert (found.username, found.access_token) == ("bot", "t0ken")
    assert "t0ken" not in repr(found)
    for text in ("t0ken", "[]", '{"username": "bot"}', '{"accessToken": "t0ken"}'):
        with pytest.raises(ValueError) as caught:
            parse_credentials(text)
        assert "t0ken" not in str(caught.value)
