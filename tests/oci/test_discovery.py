"""Content discovery: tags list, catalog, and the v1.1 referrers API."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Registry
from tests.oci.helpers import (
    absolute,
    assert_error,
    dockyard_only,
    manifest_url,
    put_manifest,
    sha256_digest,
    sha512_digest,
)
from tests.support.images import (
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Image,
    make_image,
    make_index,
    make_manifest,
    push_blob,
    push_image,
    push_manifest,
)

LINK_RE = re.compile(r'^\s*<([^>]+)>\s*;\s*rel="?next"?\s*$')


def _next_link(client: httpx.Client, r: httpx.Response) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    m = LINK_RE.match(link)
    assert m, f'malformed Link header {link!r} (RFC 5988, rel="next")'
    return absolute(client.base_url, m.group(1))


def _push_tags(client: httpx.Client, repo: str, tags: list[str]) -> Image:
    img = make_image(f"tags/{repo}", layers=1)
    push_image(client, repo, img, tag=tags[0])
    for tag in tags[1:]:
        push_manifest(client, repo, tag, img.manifest)
    return img


# Lowercase letters and digits only: bytewise and case-insensitive orders agree.
TAGS = ["v10", "v2", "alpha", "v1", "latest", "beta", "0day", "zz", "v1x"]


# --- tags -----------------------------------------------------------------------------------
def test_tags_list(http: httpx.Client, repo_name: str) -> None:
    _push_tags(http, repo_name, TAGS)
    r = http.get(f"/v2/{repo_name}/tags/list")
    assert r.status_code == 200
    assert "json" in r.headers["content-type"]
    body = r.json()
    assert body["name"] == repo_name
    assert sorted(body["tags"]) == sorted(TAGS)
    assert len(body["tags"]) == len(TAGS)


@dockyard_only("distribution 2.8 returns tags in storage order, not lexical order")
def test_tags_list_is_lexically_sorted(http: httpx.Client, repo_name: str) -> None:
    _push_tags(http, repo_name, TAGS)
    r = http.get(f"/v2/{repo_name}/tags/list")
    assert r.status_code == 200
    assert r.json()["tags"] == sorted(TAGS)


@dockyard_only("distribution 2.8 ignores n and last on tags/list")
def test_tags_list_pagination(http: httpx.Client, repo_name: str) -> None:
    _push_tags(http, repo_name, TAGS)
    expected = sorted(TAGS)

    r = http.get(f"/v2/{repo_name}/tags/list", params={"n": 2})
    assert r.status_code == 200
    assert r.json() == {"name": repo_name, "tags": expected[:2]}
    link = _next_link(http, r)
    assert link is not None, "n < number of tags: a Link rel=next header is expected"
    assert f"/v2/{repo_name}/tags/list" in link

    # Following Link headers yields every tag exactly once, in order.
    collected = list(expected[:2])
    pages = 1
    while link is not None:
        r = http.get(link)
        assert r.status_code == 200
        page = r.json()["tags"]
        assert 0 < len(page) <= 2
        collected += page
        link = _next_link(http, r)
        pages += 1
        assert pages < 20
    assert collected == expected


@dockyard_only("distribution 2.8 ignores n and last on tags/list")
@pytest.mark.parametrize(
    ("params", "start", "stop"),
    [
        ({"n": 3, "last": "beta"}, 3, 6),
        ({"last": "v1"}, 5, 9),
        ({"n": 100}, 0, 9),
        ({"n": 5, "last": "zz"}, 9, 9),
        ({"n": 2, "last": "c"}, 3, 5),  # `last` need not exist: results start after it
    ],
    ids=["n-and-last", "last-only", "n-larger", "last-is-last", "last-between"],
)
def test_tags_list_n_and_last(
    http: httpx.Client, repo_name: str, params: dict[str, Any], start: int, stop: int
) -> None:
    _push_tags(http, repo_name, TAGS)
    expected = sorted(TAGS)  # 0day alpha beta latest v1 v10 v1x v2 zz
    r = http.get(f"/v2/{repo_name}/tags/list", params=params)
    assert r.status_code == 200
    assert r.json()["tags"] == expected[start:stop]
    if stop == len(expected):
        assert _next_link(http, r) is None


@dockyard_only("distribution 2.8 ignores n on tags/list")
def test_tags_list_n_zero(http: httpx.Client, repo_name: str) -> None:
    # v1.1: "When n is zero, this endpoint MUST return an empty list, and MUST NOT include a
    # Link header."
    _push_tags(http, repo_name, TAGS)
    r = http.get(f"/v2/{repo_name}/tags/list", params={"n": 0})
    assert r.status_code == 200
    assert (r.json().get("tags") or []) == []
    assert "link" not in r.headers


def test_tags_list_after_untag_by_manifest_delete(http: httpx.Client, repo_name: str) -> None:
    img = _push_tags(http, repo_name, ["a", "b"])
    other = make_image(f"other/{repo_name}", layers=1)
    push_image(http, repo_name, other, tag="c")
    assert http.delete(manifest_url(repo_name, img.digest)).status_code == 202
    r = http.get(f"/v2/{repo_name}/tags/list")
    assert r.status_code == 200
    assert r.json()["tags"] == ["c"]


# --- catalog --------------------------------------------------------------------------------
def _catalog_repos(client: httpx.Client) -> list[str]:
    """Every repository in the catalog, following Link headers."""
    r = client.get("/v2/_catalog", params={"n": 100})
    assert r.status_code == 200
    repos: list[str] = list(r.json()["repositories"])
    link = _next_link(client, r)
    for _ in range(200):
        if link is None:
            break
        r = client.get(link)
        assert r.status_code == 200
        repos += r.json()["repositories"]
        link = _next_link(client, r)
    assert link is None, "catalog pagination did not terminate"
    return repos


@pytest.fixture
def catalog_repos(http: httpx.Client) -> list[str]:
    prefix = f"cat-{uuid.uuid4().hex[:10]}"
    names = [f"{prefix}/r1", f"{prefix}/r2", f"{prefix}/r3"]
    for name in names:
        push_image(http, name, make_image(f"cat/{name}", layers=1), tag="v1")
    return names


def test_catalog_lists_pushed_repositories(http: httpx.Client, catalog_repos: list[str]) -> None:
    repos = _catalog_repos(http)
    assert len(repos) == len(set(repos)), "catalog pages repeat repositories"
    for name in catalog_repos:
        assert name in repos
    ours = [r for r in repos if r in catalog_repos]
    assert ours == sorted(catalog_repos)


def test_catalog_pagination(http: httpx.Client, catalog_repos: list[str]) -> None:
    r1, r2, r3 = catalog_repos
    r = http.get("/v2/_catalog", params={"n": 1, "last": r1})
    assert r.status_code == 200
    assert r.json()["repositories"] == [r2]
    link = _next_link(http, r)
    assert link is not None, "more repositories follow: a Link rel=next header is expected"
    assert "/v2/_catalog" in link
    r = http.get(link)
    assert r.status_code == 200
    assert r.json()["repositories"] == [r3]

    r = http.get("/v2/_catalog", params={"n": 2, "last": r1})
    assert r.json()["repositories"] == [r2, r3]


def test_catalog_n_zero(http: httpx.Client, catalog_repos: list[str]) -> None:
    r = http.get("/v2/_catalog", params={"n": 0})
    assert r.status_code == 200
    assert r.json()["repositories"] == []
    assert "link" not in r.headers


# --- referrers ------------------------------------------------------------------------------
NO_REFERRERS = "distribution 2.8 has no referrers API (404 page not found)"
SBOM = "application/vnd.example.sbom.v1"
SIG_CONFIG = "application/vnd.example.signature.config.v1+json"


def _push_referrer(
    client: httpx.Client,
    repo: str,
    subject: Blob | dict[str, Any],
    *,
    seed: str,
    artifact_type: str | None = None,
    config_media_type: str = OCI_EMPTY,
    annotations: dict[str, str] | None = None,
) -> tuple[Blob, httpx.Response]:
    if config_media_type == OCI_EMPTY:
        config = Blob(OCI_EMPTY, EMPTY_JSON)
    else:
        config = Blob(config_media_type, b'{"seed":"' + seed.encode() + b'"}')
    layer = Blob("application/vnd.example.payload", f"payload {seed}".encode())
    push_blob(client, repo, config)
    push_blob(client, repo, layer)
    m = make_manifest(
        config, [layer], subject=subject, artifact_type=artifact_type, annotations=annotations
    )
    r = put_manifest(client, repo, m.digest, m.data)
    assert r.status_code == 201, r.text[:300]
    return m, r


def _referrers(
    client: httpx.Client, repo: str, digest: str, **params: str
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    r = client.get(f"/v2/{repo}/referrers/{digest}", params=params)
    assert r.status_code == 200, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].split(";")[0].strip() == OCI_INDEX
    body = r.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    assert isinstance(body["manifests"], list)
    return r, body["manifests"]


@pytest.fixture
def subject(http: httpx.Client, repo_name: str) -> Image:
    img = make_image(f"subject/{repo_name}", layers=1)
    push_image(http, repo_name, img, tag="v1")
    return img


@dockyard_only(NO_REFERRERS)
def test_put_with_subject_answers_oci_subject(
    http: httpx.Client, repo_name: str, subject: Image
) -> None:
    _, r = _push_referrer(http, repo_name, subject.manifest, seed="s1", artifact_type=SBOM)
    assert r.headers.get("oci-subject") == subject.digest
    # Without a subject there is nothing to acknowledge.
    plain = make_image(f"plain/{repo_name}", layers=1)
    push_image(http, repo_name, plain)
    r = put_manifest(http, repo_name, "plain", plain.manifest.data)
    assert r.status_code == 201
    assert "oci-subject" not in r.headers


@dockyard_only(NO_REFERRERS)
def test_referrers_lists_descriptors(http: httpx.Client, repo_name: str, subject: Image) -> None:
    sbom, _ = _push_referrer(
        http,
        repo_name,
        subject.manifest,
        seed="sbom",
        artifact_type=SBOM,
        annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "k": "v"},
    )
    # No artifactType: the descriptor's artifactType falls back to the config media type.
    sig, _ = _push_referrer(
        http, repo_name, subject.manifest, seed="sig", config_media_type=SIG_CONFIG
    )
    # An index can be a referrer too; without artifactType it has none in the descriptor.
    idx = make_index([subject.manifest], subject=subject.manifest, annotations={"i": "1"})
    r = put_manifest(http, repo_name, idx.digest, idx.data, OCI_INDEX)
    assert r.status_code == 201
    assert r.headers.get("oci-subject") == subject.digest
    # A referrer of another manifest must not show up.
    other = make_image(f"other/{repo_name}", layers=1)
    push_image(http, repo_name, other)
    _push_referrer(http, repo_name, other.manifest, seed="other", artifact_type=SBOM)

    _, manifests = _referrers(http, repo_name, subject.digest)
    by_digest = {d["digest"]: d for d in manifests}
    assert set(by_digest) == {sbom.digest, sig.digest, idx.digest}
    assert len(manifests) == 3

    d = by_digest[sbom.digest]
    assert d["mediaType"] == OCI_MANIFEST
    assert d["size"] == sbom.size
    assert d["artifactType"] == SBOM
    assert d["annotations"] == {
        "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
        "k": "v",
    }

    d = by_digest[sig.digest]
    assert d["mediaType"] == OCI_MANIFEST
    assert d["size"] == sig.size
    assert d["artifactType"] == SIG_CONFIG
    assert not d.get("annotations")

    d = by_digest[idx.digest]
    assert d["mediaType"] == OCI_INDEX
    assert d["size"] == idx.size
    assert "artifactType" not in d
    assert d["annotations"] == {"i": "1"}


@dockyard_only(NO_REFERRERS)
def test_referrers_filter_by_artifact_type(
    http: httpx.Client, repo_name: str, subject: Image
) -> None:
    sbom, _ = _push_referrer(http, repo_name, subject.manifest, seed="a", artifact_type=SBOM)
    sig, _ = _push_referrer(
        http, repo_name, subject.manifest, seed="b", config_media_type=SIG_CONFIG
    )

    r, manifests = _referrers(http, repo_name, subject.digest, artifactType=SBOM)
    assert [d["digest"] for d in manifests] == [sbom.digest]
    assert r.headers.get("oci-filters-applied") == "artifactType"

    # The fallback artifactType (config media type) is what the filter matches on.
    r, manifests = _referrers(http, repo_name, subject.digest, artifactType=SIG_CONFIG)
    assert [d["digest"] for d in manifests] == [sig.digest]
    assert r.headers.get("oci-filters-applied") == "artifactType"

    r, manifests = _referrers(http, repo_name, subject.digest, artifactType="application/none")
    assert manifests == []
    assert r.headers.get("oci-filters-applied") == "artifactType"

    r, manifests = _referrers(http, repo_name, subject.digest)
    assert len(manifests) == 2
    assert "oci-filters-applied" not in r.headers


@dockyard_only(NO_REFERRERS)
def test_referrers_empty_for_digest_without_referrers(
    http: httpx.Client, repo_name: str, subject: Image
) -> None:
    _, manifests = _referrers(http, repo_name, subject.digest)
    assert manifests == []
    # A digest the repository has never seen: still 200 and an empty index, never 404.
    _, manifests = _referrers(http, repo_name, sha256_digest(b"unknown " + repo_name.encode()))
    assert manifests == []


@dockyard_only(NO_REFERRERS)
def test_referrers_in_a_repository_without_manifests(http: httpx.Client, repo_name: str) -> None:
    push_blob(http, repo_name, b"a repository holding one blob and no manifest")
    for subject in (sha256_digest(b"s " + repo_name.encode()), sha512_digest(b"s")):
        _, manifests = _referrers(http, repo_name, subject)
        assert manifests == []


@dockyard_only(NO_REFERRERS)
def test_referrers_in_a_repository_not_created_yet(http: httpx.Client) -> None:
    # The session's Dockyard creates repositories on first push (tests/conftest.py): a
    # repository nobody pushed to yet has no referrers, and saying so with 404 would tell the
    # client the registry has no referrers API (it would fall back to the tag schema).
    repo = f"never/pushed-{uuid.uuid4().hex[:12]}"
    for subject in (sha256_digest(repo.encode()), sha512_digest(repo.encode())):
        r, manifests = _referrers(http, repo, subject)
        assert manifests == []
        assert r.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        r, manifests = _referrers(http, repo, subject, artifactType=SBOM)
        assert manifests == []
    # Asking created nothing.
    assert_error(http.get(f"/v2/{repo}/tags/list"), 404, "NAME_UNKNOWN")


@dockyard_only(NO_REFERRERS)
def test_referrer_pushed_before_its_subject(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"late/{repo_name}", layers=1)
    push_blob(http, repo_name, b"repository exists")
    art, r = _push_referrer(http, repo_name, img.manifest, seed="early", artifact_type=SBOM)
    assert r.headers.get("oci-subject") == img.digest
    _, manifests = _referrers(http, repo_name, img.digest)
    assert [d["digest"] for d in manifests] == [art.digest]
    push_image(http, repo_name, img, tag="v1")
    _, manifests = _referrers(http, repo_name, img.digest)
    assert [d["digest"] for d in manifests] == [art.digest]


@dockyard_only(NO_REFERRERS)
def test_deleted_referrer_disappears(http: httpx.Client, repo_name: str, subject: Image) -> None:
    keep, _ = _push_referrer(http, repo_name, subject.manifest, seed="k", artifact_type=SBOM)
    gone, _ = _push_referrer(http, repo_name, subject.manifest, seed="g", artifact_type=SBOM)
    assert http.delete(manifest_url(repo_name, gone.digest)).status_code == 202
    _, manifests = _referrers(http, repo_name, subject.digest)
    assert [d["digest"] for d in manifests] == [keep.digest]


@dockyard_only(NO_REFERRERS)
def test_referrers_malformed_digest(http: httpx.Client, repo_name: str, subject: Image) -> None:
    # "If the request is invalid, such as a <digest> with an invalid syntax, a 400 Bad Request
    # MUST be returned."
    r = http.get(f"/v2/{repo_name}/referrers/sha256:abc")
    assert r.status_code == 400
    assert_error(r, 400)


def test_subject_field_does_not_break_plain_pulls(
    registry: Registry, http: httpx.Client, repo_name: str, subject: Image
) -> None:
    art, r = _push_referrer(http, repo_name, subject.manifest, seed="x", artifact_type=SBOM)
    got = http.get(manifest_url(repo_name, art.digest), headers={"Accept": OCI_MANIFEST})
    assert got.status_code == 200
    assert got.content == art.data
    assert got.json()["subject"]["digest"] == subject.digest
    if registry.kind == "dockyard":
        assert r.headers.get("oci-subject") == subject.digest


@dockyard_only(NO_REFERRERS)
def test_referrers_are_scoped_to_the_repository(
    http: httpx.Client, repo_name: str, subject: Image
) -> None:
    # The same subject pushed to another repository, with a referrer there only.
    other = repo_name + "-mirror"
    push_image(http, other, subject, tag="v1")
    art, _ = _push_referrer(http, other, subject.manifest, seed="mirror", artifact_type=SBOM)
    _, manifests = _referrers(http, repo_name, subject.digest)
    assert manifests == []
    _, manifests = _referrers(http, other, subject.digest)
    assert [d["digest"] for d in manifests] == [art.digest]
