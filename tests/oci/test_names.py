"""Repository names and tags: what is accepted, what is NAME_INVALID."""

from __future__ import annotations

import httpx
import pytest

from tests.oci.helpers import (
    assert_error,
    dockyard_only,
    get_manifest,
    put_manifest,
    sha256_digest,
)
from tests.support.images import make_image, push_blob, push_image


def _long_name(length: int) -> str:
    """A valid-looking name of exactly `length` characters with short path components."""
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < length:
        parts.append("abcdefghij")
    name = "/".join(parts)[:length]
    return name.rstrip("/") + "x" * (length - len(name.rstrip("/")))


# Names that break the spec's grammar
# [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
GRAMMAR_INVALID = [
    "Upper/case",
    "upper/Case",
    "a//b",
    "-a",
    "a-",
    "ab/-c",
    "ab/c-",
    "a..b",
    "a___b",
    "ab/",
    ".ab",
    "ab/.c",
    "a_/b",
    "ab%20cd",
]


@dockyard_only("distribution 2.8 routes most invalid names to a plain-text 404 or a 301")
@pytest.mark.parametrize("name", GRAMMAR_INVALID)
def test_invalid_name_on_push(http: httpx.Client, name: str) -> None:
    r = http.post(f"/v2/{name}/blobs/uploads/")
    assert_error(r, 400, "NAME_INVALID")
    img = make_image("names", layers=1)
    r = put_manifest(http, name, "v1", img.manifest.data)
    assert_error(r, 400, "NAME_INVALID")


@dockyard_only("distribution 2.8 routes most invalid names to a plain-text 404 or a 301")
@pytest.mark.parametrize("name", GRAMMAR_INVALID)
def test_invalid_name_on_pull(http: httpx.Client, name: str) -> None:
    # Reading a name that can never exist may also be "not known"; never a success or a 5xx.
    assert_error(get_manifest(http, name, "v1"), {400, 404}, "NAME_INVALID", "NAME_UNKNOWN")
    assert_error(http.get(f"/v2/{name}/tags/list"), {400, 404}, "NAME_INVALID", "NAME_UNKNOWN")


# ECR's limits, which Dockyard enforces on top of the spec's grammar: 2 to 256 characters.
@dockyard_only("ECR limit: the spec's grammar (and distribution) allow 1-character names")
@pytest.mark.parametrize("name", ["a", "z", "0"])
def test_single_character_name_is_invalid(http: httpx.Client, name: str) -> None:
    assert_error(http.post(f"/v2/{name}/blobs/uploads/"), 400, "NAME_INVALID")


@dockyard_only("ECR limit: 256 characters; distribution caps names at 255 and its storage 500s")
@pytest.mark.parametrize("length", [257, 300, 1000])
def test_name_longer_than_256_is_invalid(http: httpx.Client, length: int) -> None:
    name = _long_name(length)
    assert len(name) == length
    assert_error(http.post(f"/v2/{name}/blobs/uploads/"), 400, "NAME_INVALID")


@dockyard_only("ECR limit: 256 characters are allowed; distribution caps names at 255")
def test_name_of_256_characters_is_valid(http: httpx.Client) -> None:
    name = _long_name(256)
    assert len(name) == 256
    img = make_image(f"long/{name}", layers=1)
    push_image(http, name, img, tag="v1")
    r = get_manifest(http, name, "v1")
    assert r.status_code == 200
    assert r.content == img.manifest.data


@pytest.mark.parametrize(
    "suffix",
    ["ab", "a.b", "a_b", "a__b", "a-b", "a--b", "0a", "a/b/c/d", "x1/y2-z3.w4"],
)
def test_valid_names(http: httpx.Client, repo_name: str, suffix: str) -> None:
    name = f"{repo_name}{suffix.replace('/', '-')}/{suffix}"
    img = make_image(f"valid/{name}", layers=1)
    push_image(http, name, img, tag="v1")
    r = get_manifest(http, name, "v1")
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == img.digest
    r = http.get(f"/v2/{name}/tags/list")
    assert r.status_code == 200
    assert r.json() == {"name": name, "tags": ["v1"]}


def test_two_character_top_level_name(http: httpx.Client, repo_name: str) -> None:
    # Short, single-component names are valid for the spec and for ECR (2 characters).
    name = "q" + sha256_digest(repo_name.encode())[7]
    data = b"two-character repository " + repo_name.encode()
    digest = push_blob(http, name, data)
    r = http.get(f"/v2/{name}/blobs/{digest}")
    assert r.status_code == 200
    assert r.content == data


# --- tags -----------------------------------------------------------------------------------
def test_tag_of_128_characters(http: httpx.Client, repo_name: str) -> None:
    img = make_image(f"tag/{repo_name}", layers=1)
    push_image(http, repo_name, img)
    tag = "T_" + "a.b-c" * 25 + "z"  # [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
    assert len(tag) == 128
    r = put_manifest(http, repo_name, tag, img.manifest.data)
    assert r.status_code == 201, r.text[:300]
    r = get_manifest(http, repo_name, tag)
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == img.digest


@dockyard_only("distribution 2.8 routes invalid tags to a plain-text 404 page")
@pytest.mark.parametrize(
    "tag", ["t" * 129, ".dot", "-dash", "a+b", "a%20b"], ids=["129", "dot", "dash", "plus", "space"]
)
def test_invalid_tag_is_rejected(http: httpx.Client, repo_name: str, tag: str) -> None:
    img = make_image(f"tag/{repo_name}", layers=1)
    push_image(http, repo_name, img)
    r = put_manifest(http, repo_name, tag, img.manifest.data)
    # The spec does not name a code for a bad tag; MANIFEST_INVALID or TAG_INVALID (Docker's).
    assert_error(r, 400, "MANIFEST_INVALID", "TAG_INVALID", "NAME_INVALID")
