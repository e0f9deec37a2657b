"""Images through the ECR API: PutImage, ListImages, DescribeImages, BatchGetImage,
BatchDeleteImage, and images crossing between the ECR API and ``/v2``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.support.ecr import ACCOUNT, expect_error, push_layer_api, push_v2
from tests.support.images import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    MANIFEST_ACCEPT,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    ImageIndex,
    make_config,
    make_image,
    make_index,
    make_layer,
    make_manifest,
    make_multiarch_index,
    push_blob,
    sha256_digest,
)

MISSING_DIGEST = "sha256:" + "0" * 64


def layer_bytes(image: Image) -> int:
    return sum(layer.size for layer in image.layers)


def put_index(ecr: Any, repo: str, index: ImageIndex, tag: str) -> dict[str, Any]:
    """PutImage each child by digest (untagged), then the index under ``tag``."""
    for child in index.images:
        push_layer_api(ecr, repo, child)
    result: dict[str, Any] = ecr.put_image(
        repositoryName=repo,
        imageManifest=index.index.data.decode(),
        imageManifestMediaType=OCI_INDEX,
        imageTag=tag,
    )["image"]
    return result


# --------------------------------------------------------------------------- PutImage


def test_put_image_through_layer_api(ecr: Any, repo: str, v2: httpx.Client) -> None:
    img = make_image(f"put/{repo}", layers=2)
    image = push_layer_api(ecr, repo, img, tag="v1")
    assert image["registryId"] == ACCOUNT
    assert image["repositoryName"] == repo
    assert image["imageId"] == {"imageDigest": img.digest, "imageTag": "v1"}
    assert image["imageManifest"] == img.manifest.data.decode()
    assert image["imageManifestMediaType"] == OCI_MANIFEST
    # Pullable on /v2, byte for byte, by tag and by digest.
    for reference in ("v1", img.digest):
        r = v2.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200, r.text
        assert r.content == img.manifest.data
        assert r.headers["docker-content-digest"] == img.digest
        assert r.headers["content-type"] == OCI_MANIFEST
    for blob in img.blobs:
        r = v2.get(f"/v2/{repo}/blobs/{blob.digest}")
        assert r.status_code == 200
        assert r.content == blob.data


def test_put_image_media_type_from_the_manifest(ecr: Any, repo: str) -> None:
    img = make_image(f"docker/{repo}", layers=1, docker=True)
    push_layer_api(ecr, repo, img)  # blobs, and the manifest by digest
    # No imageManifestMediaType: the manifest's own mediaType counts.
    image = ecr.put_image(
        repositoryName=repo, imageManifest=img.manifest.data.decode(), imageTag="d"
    )["image"]
    assert image["imageManifestMediaType"] == DOCKER_MANIFEST
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert detail["imageManifestMediaType"] == DOCKER_MANIFEST
    assert detail["artifactMediaType"] == DOCKER_CONFIG


def test_put_image_without_a_tag(ecr: Any, repo: str) -> None:
    img = make_image(f"untagged/{repo}", layers=1)
    image = push_layer_api(ecr, repo, img)
    assert image["imageId"] == {"imageDigest": img.digest}
    assert ecr.list_images(repositoryName=repo)["imageIds"] == [{"imageDigest": img.digest}]


def test_put_image_with_matching_digest(ecr: Any, repo: str) -> None:
    img = make_image(f"digest/{repo}", layers=1)
    push_layer_api(ecr, repo, img)  # blobs + untagged manifest
    image = ecr.put_image(
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageDigest=img.digest,
        imageTag="by-digest",
    )["image"]
    assert image["imageId"] == {"imageDigest": img.digest, "imageTag": "by-digest"}


def test_put_image_adds_and_moves_tags(ecr: Any, repo: str) -> None:
    first = make_image(f"a/{repo}", layers=1)
    second = make_image(f"b/{repo}", layers=1)
    push_layer_api(ecr, repo, first, tag="v1")
    push_layer_api(ecr, repo, first, tag="latest")  # a second tag, same manifest
    push_layer_api(ecr, repo, second, tag="latest")  # moves in a mutable repository
    details = {
        d["imageDigest"]: d for d in ecr.describe_images(repositoryName=repo)["imageDetails"]
    }
    assert details[first.digest]["imageTags"] == ["v1"]
    assert details[second.digest]["imageTags"] == ["latest"]


def test_put_image_already_exists(ecr: Any, repo: str) -> None:
    img = make_image(f"twice/{repo}", layers=1)
    push_layer_api(ecr, repo, img, tag="v1")
    err = expect_error(
        "ImageAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageTag="v1",
    )
    assert "v1" in err.response["Error"]["Message"]


def test_put_image_already_exists_untagged(ecr: Any, repo: str) -> None:
    img = make_image(f"twice-untagged/{repo}", layers=1)
    push_layer_api(ecr, repo, img)
    expect_error(
        "ImageAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
    )


def test_put_image_immutable_tag(ecr: Any, repo: str) -> None:
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    first = make_image(f"imm-a/{repo}", layers=1)
    second = make_image(f"imm-b/{repo}", layers=1)
    push_layer_api(ecr, repo, first, tag="v1")
    err = expect_error(
        "ImageTagAlreadyExistsException",
        push_layer_api,
        ecr=ecr,
        repo=repo,
        image=second,
        tag="v1",
    )
    assert "v1" in err.response["Error"]["Message"]
    # The unchanged manifest under the same tag is "already exists", as in ECR.
    expect_error(
        "ImageAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=first.manifest.data.decode(),
        imageTag="v1",
    )
    # A new tag is fine; the old one still names the first image.
    push_layer_api(ecr, repo, second, tag="v2")
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    assert got[0]["imageId"]["imageDigest"] == first.digest


def test_put_image_immutable_with_exclusion(ecr: Any, repo: str) -> None:
    ecr.put_image_tag_mutability(
        repositoryName=repo,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}],
    )
    first = make_image(f"ex-a/{repo}", layers=1)
    second = make_image(f"ex-b/{repo}", layers=1)
    push_layer_api(ecr, repo, first, tag="dev-1")
    push_layer_api(ecr, repo, first, tag="release")
    push_layer_api(ecr, repo, second, tag="dev-1")  # excluded: mutable
    expect_error(
        "ImageTagAlreadyExistsException",
        push_layer_api,
        ecr=ecr,
        repo=repo,
        image=second,
        tag="release",
    )


def test_put_image_immutable_tag_on_v2(ecr: Any, repo: str, v2: httpx.Client) -> None:
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    first = make_image(f"v2imm-a/{repo}", layers=1)
    second = make_image(f"v2imm-b/{repo}", layers=1)
    push_v2(v2, repo, first, "v1")
    for blob in second.blobs:
        push_blob(v2, repo, blob)
    r = v2.put(
        f"/v2/{repo}/manifests/v1",
        content=second.manifest.data,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert r.status_code == 400, r.text
    error = r.json()["errors"][0]
    assert error["code"] == "TAG_INVALID"
    assert error["message"] == (
        f"The image tag 'v1' already exists in the '{repo}' repository and cannot be "
        "overwritten because the tag is immutable."
    )


def test_put_image_layers_not_found(ecr: Any, repo: str) -> None:
    img = make_image(f"nolayer/{repo}", layers=2)
    # Only the config and the first layer are uploaded.
    push_layer_api(ecr, repo, Image(img.config, img.layers[:1], make_manifest(img.config, [])))
    err = expect_error(
        "LayersNotFoundException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageTag="v1",
    )
    assert img.layers[1].digest in err.response["Error"]["Message"]
    expect_error(
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "v1"}],
    )


def test_put_image_referenced_images_not_found(ecr: Any, repo: str) -> None:
    index = make_multiarch_index(f"idx-missing/{repo}")
    push_layer_api(ecr, repo, index.images[0])  # the second child is never pushed
    err = expect_error(
        "ReferencedImagesNotFoundException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=index.index.data.decode(),
        imageManifestMediaType=OCI_INDEX,
        imageTag="multi",
    )
    assert index.images[1].digest in err.response["Error"]["Message"]


def test_put_image_digest_does_not_match(ecr: Any, repo: str) -> None:
    img = make_image(f"mismatch/{repo}", layers=1)
    push_layer_api(ecr, repo, img)
    expect_error(
        "ImageDigestDoesNotMatchException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageDigest=MISSING_DIGEST,
        imageTag="x",
    )


def test_put_image_repository_not_found(ecr: Any, repo_name: str) -> None:
    img = make_image(f"norepo/{repo_name}", layers=1)
    expect_error(
        "RepositoryNotFoundException",
        ecr.put_image,
        repositoryName=repo_name,
        imageManifest=img.manifest.data.decode(),
        imageTag="v1",
    )


@pytest.mark.parametrize("manifest", ["not json", '{"schemaVersion": 2}', "[]"])
def test_put_image_invalid_manifest(ecr: Any, repo: str, manifest: str) -> None:
    expect_error(
        "InvalidParameterException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=manifest,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="bad",
    )


def test_put_image_tag_lengths(ecr: Any, ecr_unvalidated: Any, repo: str) -> None:
    # ECR's API takes tags of 1 to 300 characters (OCI's grammar on /v2 stops at 128).
    img = make_image(f"longtag/{repo}", layers=1)
    push_layer_api(ecr, repo, img)
    for tag in ("t" * 129, "t" * 300):
        image = ecr.put_image(
            repositoryName=repo, imageManifest=img.manifest.data.decode(), imageTag=tag
        )["image"]
        assert image["imageId"] == {"imageDigest": img.digest, "imageTag": tag}
    err = expect_error(
        "InvalidParameterException",
        ecr_unvalidated.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageTag="t" * 301,
    )
    assert "imageTag" in err.response["Error"]["Message"]


def test_put_image_invalid_tag(ecr: Any, repo: str) -> None:
    img = make_image(f"badtag/{repo}", layers=1)
    push_layer_api(ecr, repo, img)
    expect_error(
        "InvalidParameterException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=img.manifest.data.decode(),
        imageTag="has space",
    )


# --------------------------------------------------------------------------- both ways


def test_v2_push_is_described(ecr: Any, repo: str, v2: httpx.Client) -> None:
    img = make_image(f"v2/{repo}", layers=3)
    before = time.time()
    push_v2(v2, repo, img, "v1")
    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert len(details) == 1
    detail = details[0]
    assert detail["registryId"] == ACCOUNT
    assert detail["repositoryName"] == repo
    assert detail["imageDigest"] == img.digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == layer_bytes(img)
    assert detail["imageManifestMediaType"] == OCI_MANIFEST
    assert detail["artifactMediaType"] == OCI_CONFIG
    pushed = detail["imagePushedAt"].timestamp()
    assert before - 2 <= pushed <= time.time() + 2
    # And BatchGetImage hands back the very bytes pushed.
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert got["failures"] == []
    assert got["images"][0]["imageManifest"] == img.manifest.data.decode()
    assert got["images"][0]["imageManifestMediaType"] == OCI_MANIFEST


def test_layer_api_push_is_described(ecr: Any, repo: str) -> None:
    img = make_image(f"la/{repo}", layers=2)
    before = time.time()
    push_layer_api(ecr, repo, img, tag="v1")
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])[
        "imageDetails"
    ][0]
    assert detail["imageSizeInBytes"] == layer_bytes(img)
    assert before - 2 <= detail["imagePushedAt"].timestamp() <= time.time() + 2


def test_index_is_described(ecr: Any, repo: str, v2: httpx.Client) -> None:
    index = make_multiarch_index(f"idx/{repo}", layers=2)
    pushed = put_index(ecr, repo, index, "multi")
    assert pushed["imageManifestMediaType"] == OCI_INDEX
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "multi"}])[
        "imageDetails"
    ][0]
    assert detail["imageDigest"] == index.digest
    assert detail["imageManifestMediaType"] == OCI_INDEX
    assert detail["imageSizeInBytes"] == max(layer_bytes(i) for i in index.images)
    r = v2.get(f"/v2/{repo}/manifests/multi", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200 and r.content == index.index.data


def test_artifact_media_type(ecr: Any, repo: str, v2: httpx.Client) -> None:
    # An OCI artifact: an empty config and an artifactType.
    layer = make_layer(f"artifact/{repo}", files=1)
    config = make_config([layer], media_type="application/vnd.example.config.v1+json")
    manifest = make_manifest(config, [layer], artifact_type="application/vnd.example.thing")
    push_v2(v2, repo, Image(config, (layer,), manifest), "art")
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert detail["artifactMediaType"] in (
        "application/vnd.example.thing",
        "application/vnd.example.config.v1+json",
    )


def test_v2_pull_records_pull_time(ecr: Any, repo: str, v2: httpx.Client) -> None:
    img = make_image(f"pull/{repo}", layers=1)
    push_v2(v2, repo, img, "v1")
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert "lastRecordedPullTime" not in detail
    before = time.time()
    r = v2.get(f"/v2/{repo}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert "lastRecordedPullTime" in detail, "a /v2 pull did not update lastRecordedPullTime"
    assert before - 2 <= detail["lastRecordedPullTime"].timestamp() <= time.time() + 2


# --------------------------------------------------------------------------- ListImages


@pytest.fixture
def mixed_repo(ecr: Any, repo: str) -> dict[str, Any]:
    """Two tagged images (one with two tags) and two untagged ones."""
    images = {n: make_image(f"mixed-{n}/{repo}", layers=1) for n in ("a", "b", "c", "d")}
    push_layer_api(ecr, repo, images["a"], tag="a1")
    push_layer_api(ecr, repo, images["a"], tag="a2")
    push_layer_api(ecr, repo, images["b"], tag="b1")
    push_layer_api(ecr, repo, images["c"])
    push_layer_api(ecr, repo, images["d"])
    return {"repo": repo, "images": images}


def _ids(result: list[dict[str, str]]) -> set[tuple[str, str | None]]:
    return {(i["imageDigest"], i.get("imageTag")) for i in result}


def test_list_images_tag_status(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    a, b, c, d = (images[k].digest for k in "abcd")
    tagged = {(a, "a1"), (a, "a2"), (b, "b1")}
    untagged = {(c, None), (d, None)}
    assert _ids(ecr.list_images(repositoryName=repo)["imageIds"]) == tagged | untagged
    for status, expected in (
        ("TAGGED", tagged),
        ("UNTAGGED", untagged),
        ("ANY", tagged | untagged),
    ):
        got = ecr.list_images(repositoryName=repo, filter={"tagStatus": status})["imageIds"]
        assert _ids(got) == expected, status


def test_list_images_paginates(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo = mixed_repo["repo"]
    pages = list(
        ecr.get_paginator("list_images").paginate(
            repositoryName=repo, PaginationConfig={"PageSize": 1}
        )
    )
    ids = [i for p in pages for i in p["imageIds"]]
    assert _ids(ids) == _ids(ecr.list_images(repositoryName=repo)["imageIds"])
    # "ListImages only returns maxResults results in a single page": image ids, one per tag.
    assert [len(p["imageIds"]) for p in pages if len(p["imageIds"]) > 1] == []
    assert len(ids) == len(_ids(ids)), "an image was listed twice"
    assert len(pages) >= 4
    assert "nextToken" not in pages[-1]


def test_describe_images_paginates(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo = mixed_repo["repo"]
    pages = list(
        ecr.get_paginator("describe_images").paginate(
            repositoryName=repo, PaginationConfig={"PageSize": 3}
        )
    )
    digests = [d["imageDigest"] for p in pages for d in p["imageDetails"]]
    assert sorted(digests) == sorted(i.digest for i in mixed_repo["images"].values())


def test_list_images_archived_filter(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    # Nothing is archived, so asking for ARCHIVED images finds none.
    got = ecr.list_images(repositoryName=mixed_repo["repo"], filter={"imageStatus": "ARCHIVED"})
    assert got["imageIds"] == []
    got = ecr.describe_images(repositoryName=mixed_repo["repo"], filter={"imageStatus": "ARCHIVED"})
    assert got["imageDetails"] == []


def test_list_images_errors(ecr: Any, ecr_unvalidated: Any, repo: str) -> None:
    repo_name = f"{repo}-missing"
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName=repo_name)
    expect_error("InvalidParameterException", ecr.list_images, repositoryName=repo, nextToken="x")
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.list_images,
        repositoryName=repo,
        filter={"tagStatus": "SOMETIMES"},
    )
    expect_error(
        "AccessDeniedException", ecr.list_images, repositoryName=repo, registryId="999999999999"
    )


# --------------------------------------------------------------------------- DescribeImages


def test_describe_images_by_id_and_filter(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    a = images["a"].digest
    by_tag = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "a2"}])
    assert [d["imageDigest"] for d in by_tag["imageDetails"]] == [a]
    assert sorted(by_tag["imageDetails"][0]["imageTags"]) == ["a1", "a2"]
    by_digest = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": a}])
    assert by_digest["imageDetails"] == by_tag["imageDetails"]
    both = ecr.describe_images(
        repositoryName=repo, imageIds=[{"imageTag": "a1"}, {"imageDigest": images["c"].digest}]
    )["imageDetails"]
    assert {d["imageDigest"] for d in both} == {a, images["c"].digest}
    assert "imageTags" not in next(d for d in both if d["imageDigest"] == images["c"].digest)
    untagged = ecr.describe_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    assert {d["imageDigest"] for d in untagged["imageDetails"]} == {
        images["c"].digest,
        images["d"].digest,
    }
    tagged = ecr.describe_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})
    assert {d["imageDigest"] for d in tagged["imageDetails"]} == {a, images["b"].digest}


def test_describe_images_not_found(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo_name = f"{mixed_repo['repo']}-missing"
    repo = mixed_repo["repo"]
    for image_id in ({"imageTag": "nope"}, {"imageDigest": MISSING_DIGEST}):
        err = expect_error(
            "ImageNotFoundException", ecr.describe_images, repositoryName=repo, imageIds=[image_id]
        )
        assert repo in err.response["Error"]["Message"]
    expect_error(
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "a1"}, {"imageTag": "nope"}],
    )
    expect_error("RepositoryNotFoundException", ecr.describe_images, repositoryName=repo_name)


# --------------------------------------------------------------------------- BatchGetImage


def test_batch_get_image(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    a, c = images["a"], images["c"]
    got = ecr.batch_get_image(
        repositoryName=repo, imageIds=[{"imageTag": "a1"}, {"imageDigest": c.digest}]
    )
    assert got["failures"] == []
    by_digest = {i["imageId"]["imageDigest"]: i for i in got["images"]}
    assert by_digest[a.digest]["imageId"] == {"imageDigest": a.digest, "imageTag": "a1"}
    assert by_digest[a.digest]["imageManifest"] == a.manifest.data.decode()
    assert by_digest[a.digest]["registryId"] == ACCOUNT
    assert by_digest[a.digest]["repositoryName"] == repo
    assert by_digest[c.digest]["imageId"] == {"imageDigest": c.digest}
    assert by_digest[c.digest]["imageManifestMediaType"] == OCI_MANIFEST


def test_batch_get_image_accepted_media_types(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo = mixed_repo["repo"]
    ok = ecr.batch_get_image(
        repositoryName=repo,
        imageIds=[{"imageTag": "a1"}],
        acceptedMediaTypes=[DOCKER_MANIFEST, OCI_MANIFEST],
    )
    assert len(ok["images"]) == 1 and ok["failures"] == []
    refused = ecr.batch_get_image(
        repositoryName=repo, imageIds=[{"imageTag": "a1"}], acceptedMediaTypes=[DOCKER_MANIFEST]
    )
    assert refused["images"] == []
    assert [f["imageId"] for f in refused["failures"]] == [{"imageTag": "a1"}]
    assert refused["failures"][0]["failureCode"] == "ImageNotFound"


def test_batch_get_image_failures(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo_name = f"{mixed_repo['repo']}-missing"
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    got = ecr.batch_get_image(
        repositoryName=repo,
        imageIds=[
            {"imageTag": "nope"},
            {"imageDigest": MISSING_DIGEST},
            {"imageTag": "a1", "imageDigest": images["b"].digest},
            {},
            {"imageTag": "b1"},
        ],
    )
    assert [i["imageId"] for i in got["images"]] == [
        {"imageDigest": images["b"].digest, "imageTag": "b1"}
    ]
    codes = [(f["imageId"], f["failureCode"]) for f in got["failures"]]
    assert codes == [
        ({"imageTag": "nope"}, "ImageNotFound"),
        ({"imageDigest": MISSING_DIGEST}, "ImageNotFound"),
        ({"imageDigest": images["b"].digest, "imageTag": "a1"}, "ImageTagDoesNotMatchDigest"),
        ({}, "MissingDigestAndTag"),
    ]
    assert all(f["failureReason"] for f in got["failures"])
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_get_image,
        repositoryName=repo_name,
        imageIds=[{"imageTag": "x"}],
    )


# --------------------------------------------------------------------------- BatchDeleteImage


def test_batch_delete_image_by_tag(ecr: Any, mixed_repo: dict[str, Any], v2: httpx.Client) -> None:
    repo, a = mixed_repo["repo"], mixed_repo["images"]["a"]
    result = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a1"}])
    assert result["imageIds"] == [{"imageDigest": a.digest, "imageTag": "a1"}]
    assert result["failures"] == []
    # Still there under its other tag.
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": a.digest}])
    assert detail["imageDetails"][0]["imageTags"] == ["a2"]
    # The last tag takes the image with it.
    result = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a2"}])
    assert result["imageIds"] == [{"imageDigest": a.digest, "imageTag": "a2"}]
    expect_error(
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageDigest": a.digest}],
    )
    r = v2.get(f"/v2/{repo}/manifests/{a.digest}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 404


def test_batch_delete_image_by_digest(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    result = ecr.batch_delete_image(
        repositoryName=repo,
        imageIds=[{"imageDigest": images["a"].digest}, {"imageDigest": images["c"].digest}],
    )
    assert result["failures"] == []
    # One id per tag removed; an untagged image, its digest alone (ECR's answer).
    assert result["imageIds"] == [
        {"imageDigest": images["a"].digest, "imageTag": "a1"},
        {"imageDigest": images["a"].digest, "imageTag": "a2"},
        {"imageDigest": images["c"].digest},
    ]
    left = _ids(ecr.list_images(repositoryName=repo)["imageIds"])
    assert left == {(images["b"].digest, "b1"), (images["d"].digest, None)}


def test_batch_delete_image_by_digest_and_tag(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    """Digest and one of its tags: the whole image goes, every tag reported."""
    repo, a = mixed_repo["repo"], mixed_repo["images"]["a"]
    result = ecr.batch_delete_image(
        repositoryName=repo, imageIds=[{"imageDigest": a.digest, "imageTag": "a2"}]
    )
    assert result["failures"] == []
    assert result["imageIds"] == [
        {"imageDigest": a.digest, "imageTag": "a1"},
        {"imageDigest": a.digest, "imageTag": "a2"},
    ]
    assert a.digest not in {
        i["imageDigest"] for i in ecr.list_images(repositoryName=repo)["imageIds"]
    }


def test_batch_delete_image_failures(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    repo_name = f"{mixed_repo['repo']}-missing"
    repo, images = mixed_repo["repo"], mixed_repo["images"]
    result = ecr.batch_delete_image(
        repositoryName=repo,
        imageIds=[
            {"imageTag": "nope"},
            {"imageDigest": MISSING_DIGEST},
            {"imageTag": "b1", "imageDigest": images["a"].digest},
            {},
        ],
    )
    assert result["imageIds"] == []
    assert [(f["imageId"], f["failureCode"]) for f in result["failures"]] == [
        ({"imageTag": "nope"}, "ImageNotFound"),
        ({"imageDigest": MISSING_DIGEST}, "ImageNotFound"),
        ({"imageDigest": images["a"].digest, "imageTag": "b1"}, "ImageTagDoesNotMatchDigest"),
        ({}, "MissingDigestAndTag"),
    ]
    assert len(ecr.list_images(repositoryName=repo)["imageIds"]) == 5
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_delete_image,
        repositoryName=repo_name,
        imageIds=[{"imageTag": "x"}],
    )


def test_batch_delete_image_referenced_by_index(ecr: Any, repo: str) -> None:
    index = make_multiarch_index(f"idx-del/{repo}")
    put_index(ecr, repo, index, "multi")
    child = index.images[0].digest
    result = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": child}])
    assert result["imageIds"] == []
    assert [f["failureCode"] for f in result["failures"]] == ["ImageReferencedByManifestList"]
    # Deleting the index first frees the children.
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "multi"}])
    result = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": child}])
    assert result["imageIds"] == [{"imageDigest": child}]


def test_docker_index_with_docker_children(ecr: Any, repo: str) -> None:
    index = make_multiarch_index(f"dock-idx/{repo}", docker=True)
    for child in index.images:
        push_layer_api(ecr, repo, child)
    pushed = ecr.put_image(
        repositoryName=repo, imageManifest=index.index.data.decode(), imageTag="multi"
    )["image"]
    assert pushed["imageManifestMediaType"] == json.loads(index.index.data)["mediaType"]


def test_index_of_own_making(ecr: Any, repo: str) -> None:
    # An index naming an image pushed earlier, pushed with PutImage, listed by ListImages.
    img = make_image(f"own/{repo}", layers=1)
    push_layer_api(ecr, repo, img, tag="single")
    index = make_index([img.manifest])
    ecr.put_image(repositoryName=repo, imageManifest=index.data.decode(), imageTag="idx")
    ids = _ids(ecr.list_images(repositoryName=repo)["imageIds"])
    assert ids == {(img.digest, "single"), (sha256_digest(index.data), "idx")}


def test_describe_images_ids_exclude_paging(ecr: Any, mixed_repo: dict[str, Any]) -> None:
    # ECR's DescribeImages: maxResults and nextToken "cannot be used when you specify images
    # with imageIds".
    repo = mixed_repo["repo"]
    token = ecr.describe_images(repositoryName=repo, maxResults=1)["nextToken"]
    expect_error(
        "InvalidParameterException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "a1"}],
        maxResults=1,
    )
    expect_error(
        "InvalidParameterException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "a1"}],
        nextToken=token,
    )
