"""Which tags can be overwritten, per tag-mutability mode, over /v2 and through PutImage.

Each case pushes manifest A to a tag (always allowed: the tag is new), then manifest B to
the same tag, and checks both the answer and where the tag points afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from tests.immutability.helpers import (
    MODES,
    Target,
    assert_tag_invalid,
    immutable_message,
    push_blobs,
    put_image,
    put_manifest,
    tag_digest,
    variants,
)
from tests.support.auth import ecr_error

pytestmark = pytest.mark.timeout(60)

# Up to five filters; `*` is any run of characters (also none); everything else is literal.
FILTERS = ("dev-*", "*-snapshot", "exact", "v1.*", "a*b*c")

# tag -> does it match one of FILTERS?
TAGS = {
    "latest": False,
    "dev-123": True,
    "dev-": True,  # `*` matches the empty run
    "dev": False,
    "mydev-1": False,  # filters match the whole tag, not a part of it
    "1.0-snapshot": True,
    "1.0-snapshot-2": False,
    "exact": True,
    "exact2": False,
    "v1.2.3": True,
    "v1x2": False,  # `.` is a literal dot, not "any character"
    "a-b-c": True,
    "abc": True,
    "a-b-c-d": False,
}


def overwritable(mode: str, tag: str) -> bool:
    excluded = TAGS[tag]
    return {
        "MUTABLE": True,
        "IMMUTABLE": False,
        "IMMUTABLE_WITH_EXCLUSION": excluded,
        "MUTABLE_WITH_EXCLUSION": not excluded,
    }[mode]


def filters_for(mode: str) -> tuple[str, ...]:
    return FILTERS if mode.endswith("_WITH_EXCLUSION") else ()


CASES = [
    pytest.param(mode, tag, overwritable(mode, tag), id=f"{mode}-{tag}")
    for mode in MODES
    for tag in TAGS
]

_blobs, (A, B) = variants("modes", 2)


@pytest.fixture(scope="module")
def repo_for(strict: Target) -> Callable[[str, str], str]:
    """A repository per (mode, transport), made on first use with A's and B's blobs."""
    made: dict[tuple[str, str], str] = {}

    def get(mode: str, transport: str) -> str:
        if (mode, transport) not in made:
            name = f"modes/{transport}/{mode.lower()}-{uuid.uuid4().hex[:6]}"
            strict.create_repository(name, mode, filters_for(mode))
            with strict.v2() as c:
                push_blobs(c, name, _blobs)
            made[mode, transport] = name
        return made[mode, transport]

    return get


@pytest.mark.parametrize(("mode", "tag", "allowed"), CASES)
def test_overwrite_over_v2(
    strict: Target, repo_for: Callable[[str, str], str], mode: str, tag: str, allowed: bool
) -> None:
    repo = repo_for(mode, "v2")
    with strict.v2() as c:
        first = put_manifest(c, repo, tag, A)
        assert first.status_code == 201, first.text
        assert first.headers["Docker-Content-Digest"] == A.digest
        second = put_manifest(c, repo, tag, B)
        if allowed:
            assert second.status_code == 201, second.text
            assert second.headers["Docker-Content-Digest"] == B.digest
        else:
            assert_tag_invalid(second, tag, repo)
        assert tag_digest(c, repo, tag) == (B.digest if allowed else A.digest)


@pytest.mark.parametrize(("mode", "tag", "allowed"), CASES)
def test_overwrite_through_put_image(
    strict: Target, repo_for: Callable[[str, str], str], mode: str, tag: str, allowed: bool
) -> None:
    repo = repo_for(mode, "api")
    first = put_image(strict.ecr, repo, tag, A)
    assert first["image"]["imageId"] == {"imageDigest": A.digest, "imageTag": tag}
    if allowed:
        second = put_image(strict.ecr, repo, tag, B)
        assert second["image"]["imageId"] == {"imageDigest": B.digest, "imageTag": tag}
    else:
        with pytest.raises(ClientError) as info:
            put_image(strict.ecr, repo, tag, B)
        assert ecr_error(info.value) == (
            "ImageTagAlreadyExistsException",
            immutable_message(tag, repo),
        )
    found = strict.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": tag}])
    assert [i["imageId"]["imageDigest"] for i in found["images"]] == [
        B.digest if allowed else A.digest
    ]


def _set_mode(strict: Target, repo: str, mode: str, filters: tuple[str, ...] = ()) -> None:
    args: dict[str, object] = {"repositoryName": repo, "imageTagMutability": mode}
    if filters:
        args["imageTagMutabilityExclusionFilters"] = [
            {"filterType": "WILDCARD", "filter": f} for f in filters
        ]
    strict.ecr.put_image_tag_mutability(**args)
    (described,) = strict.ecr.describe_repositories(repositoryNames=[repo])["repositories"]
    assert described["imageTagMutability"] == mode
    got = described.get("imageTagMutabilityExclusionFilters", [])
    assert [f["filter"] for f in got] == list(filters)


def test_put_image_tag_mutability_applies_at_once(strict: Target) -> None:
    """A repository's mode changes with PutImageTagMutability, for tags already there too."""
    repo = f"modes/switch-{uuid.uuid4().hex[:6]}"
    blobs, (m0, m1, m2, m3) = variants("switch", 4)
    strict.create_repository(repo, "MUTABLE")
    with strict.v2() as c:
        push_blobs(c, repo, blobs)
        for tag in ("release", "dev-1"):
            assert put_manifest(c, repo, tag, m0).status_code == 201

        _set_mode(strict, repo, "IMMUTABLE")
        for tag in ("release", "dev-1"):
            assert_tag_invalid(put_manifest(c, repo, tag, m1), tag, repo)

        _set_mode(strict, repo, "IMMUTABLE_WITH_EXCLUSION", ("dev-*",))
        assert_tag_invalid(put_manifest(c, repo, "release", m1), "release", repo)
        assert put_manifest(c, repo, "dev-1", m1).status_code == 201

        _set_mode(strict, repo, "MUTABLE_WITH_EXCLUSION", ("dev-*",))
        assert put_manifest(c, repo, "release", m2).status_code == 201
        assert_tag_invalid(put_manifest(c, repo, "dev-1", m2), "dev-1", repo)

        _set_mode(strict, repo, "MUTABLE")
        assert put_manifest(c, repo, "dev-1", m3).status_code == 201
        assert put_manifest(c, repo, "release", m3).status_code == 201
        assert tag_digest(c, repo, "release") == tag_digest(c, repo, "dev-1") == m3.digest


@pytest.mark.parametrize("transport", ["v2", "api"])
def test_new_tags_and_digests_are_always_accepted(strict: Target, transport: str) -> None:
    """Immutability is about moving a tag: new tags and untagged pushes go through."""
    repo = f"modes/new-tags-{transport}-{uuid.uuid4().hex[:6]}"
    blobs, (m0, m1) = variants(f"new-tags-{transport}", 2)
    strict.create_repository(repo, "IMMUTABLE")
    with strict.v2() as c:
        push_blobs(c, repo, blobs)
        if transport == "v2":
            assert put_manifest(c, repo, "one", m0).status_code == 201
            assert put_manifest(c, repo, "two", m0).status_code == 201  # same image, new tag
            assert put_manifest(c, repo, m1.digest, m1).status_code == 201  # by digest
        else:
            put_image(strict.ecr, repo, "one", m0)
            put_image(strict.ecr, repo, "two", m0)
            strict.ecr.put_image(repositoryName=repo, imageManifest=m1.data.decode())
        assert tag_digest(c, repo, "one") == tag_digest(c, repo, "two") == m0.digest
        assert tag_digest(c, repo, m1.digest) == m1.digest


def test_deleted_immutable_tag_can_be_pushed_again(strict: Target) -> None:
    """ECR's immutability forbids overwriting, not deleting; a deleted tag is free again."""
    repo = f"modes/delete-{uuid.uuid4().hex[:6]}"
    blobs, (m0, m1) = variants("delete", 2)
    strict.create_repository(repo, "IMMUTABLE")
    with strict.v2() as c:
        push_blobs(c, repo, blobs)
        assert put_manifest(c, repo, "v1", m0).status_code == 201
        assert_tag_invalid(put_manifest(c, repo, "v1", m1), "v1", repo)
        deleted = strict.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
        assert deleted["failures"] == []
        assert tag_digest(c, repo, "v1") is None
        assert put_manifest(c, repo, "v1", m1).status_code == 201
        assert tag_digest(c, repo, "v1") == m1.digest


def _wildcards(*filters: str) -> list[dict[str, str]]:
    return [{"filterType": "WILDCARD", "filter": f} for f in filters]


@pytest.mark.parametrize(
    ("mode", "filters"),
    [
        pytest.param("IMMUTABLE_WITH_EXCLUSION", [], id="exclusion-mode-without-filters"),
        pytest.param("MUTABLE_WITH_EXCLUSION", [], id="mutable-exclusion-without-filters"),
        pytest.param("IMMUTABLE", _wildcards("dev-*"), id="filters-without-exclusion-mode"),
        pytest.param("MUTABLE", _wildcards("dev-*"), id="filters-on-mutable"),
        pytest.param("IMMUTABLE_WITH_EXCLUSION", _wildcards(*"abcdef"), id="six-filters"),
        pytest.param("IMMUTABLE_WITH_EXCLUSION", _wildcards("dev/*"), id="slash-in-filter"),
        pytest.param("IMMUTABLE_WITH_EXCLUSION", _wildcards("dev?"), id="question-mark"),
        pytest.param("IMMUTABLE_WITH_EXCLUSION", _wildcards("a" * 129), id="129-characters"),
        pytest.param(
            "IMMUTABLE_WITH_EXCLUSION",
            [{"filterType": "PREFIX_MATCH", "filter": "dev"}],
            id="not-wildcard",
        ),
    ],
)
@pytest.mark.parametrize("operation", ["CreateRepository", "PutImageTagMutability"])
def test_invalid_mutability_settings(
    strict: Target, mode: str, filters: list[dict[str, str]], operation: str
) -> None:
    repo = f"modes/invalid-{uuid.uuid4().hex[:6]}"
    args: dict[str, object] = {"repositoryName": repo, "imageTagMutability": mode}
    if filters:
        args["imageTagMutabilityExclusionFilters"] = filters
    if operation == "PutImageTagMutability":
        strict.create_repository(repo, "MUTABLE")
    call = (
        strict.ecr.create_repository
        if operation == "CreateRepository"
        else strict.ecr.put_image_tag_mutability
    )
    with pytest.raises(ClientError) as info:
        call(**args)
    assert ecr_error(info.value)[0] == "InvalidParameterException", ecr_error(info.value)
    if operation == "CreateRepository":
        with pytest.raises(ClientError):
            strict.ecr.describe_repositories(repositoryNames=[repo])
    else:
        (described,) = strict.ecr.describe_repositories(repositoryNames=[repo])["repositories"]
        assert described["imageTagMutability"] == "MUTABLE"


def test_longest_filter_and_five_filters_are_accepted(strict: Target) -> None:
    repo = f"modes/limits-{uuid.uuid4().hex[:6]}"
    longest = "a" * 127 + "*"
    strict.create_repository(repo, "IMMUTABLE_WITH_EXCLUSION", (longest, "b*", "c*", "d*", "e*"))
    blobs, (m0, m1) = variants("limits", 2)
    with strict.v2() as c:
        push_blobs(c, repo, blobs)
        tag = "a" * 127 + "x"
        assert put_manifest(c, repo, tag, m0).status_code == 201
        assert put_manifest(c, repo, tag, m1).status_code == 201  # excluded: mutable
        assert put_manifest(c, repo, "z", m0).status_code == 201
        assert_tag_invalid(put_manifest(c, repo, "z", m1), "z", repo)
