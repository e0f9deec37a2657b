"""Archiving images: by UpdateImageStorageClass and by a transition rule; and restoring them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.ecr import expect_error, push_v2
from tests.support.images import MANIFEST_ACCEPT, push_manifest
from tests.support.lifecycle import (
    ago,
    describe,
    dockyard,
    image_digests,
    oci_error,
    policy_text,
    pull_and_verify,
    rule,
    set_image_times,
    small_image,
    wait_for,
)


def assert_not_pullable(ecr: Any, v2: httpx.Client, repo: str, digest: str, tag: str) -> None:
    for reference in (tag, digest):
        r = v2.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 404, f"archived {repo}:{reference} answered {r.status_code}"
        assert oci_error(r) == "MANIFEST_UNKNOWN"
    for image_id in ({"imageTag": tag}, {"imageDigest": digest}):
        got = ecr.batch_get_image(repositoryName=repo, imageIds=[image_id])
        assert got["images"] == []
        (failure,) = got["failures"]
        assert failure["failureCode"] in ("ImageNotFound", "ImageInaccessible"), failure


def test_archive_and_restore_by_storage_class(
    ecr: Any, v2: httpx.Client, repo: str, data_dir: Path
) -> None:
    image, other = small_image(f"{repo}/cold", unique_layers=2), small_image(f"{repo}/warm")
    push_v2(v2, repo, image, "cold")
    push_v2(v2, repo, other, "warm")

    before = datetime.now(UTC)
    archived = ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "cold"}, targetStorageClass="ARCHIVE"
    )
    assert archived["imageStatus"] == "ARCHIVED"
    assert archived["imageId"] == {"imageDigest": image.digest, "imageTag": "cold"}

    # Hidden by default, shown when asked for.
    assert image_digests(ecr, repo) == {other.digest}
    assert image_digests(ecr, repo, status="ACTIVE") == {other.digest}
    assert image_digests(ecr, repo, status="ARCHIVED") == {image.digest}
    assert image_digests(ecr, repo, status="ANY") == {image.digest, other.digest}
    shown = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [d["imageDigest"] for d in shown] == [other.digest]
    detail = describe(ecr, repo, image.digest, status="ARCHIVED")
    assert detail["imageStatus"] == "ARCHIVED"
    assert detail["imageTags"] == ["cold"]
    assert before - timedelta(seconds=2) <= detail["lastArchivedAt"] <= datetime.now(UTC)
    assert_not_pullable(ecr, v2, repo, image.digest, "cold")
    pull_and_verify(v2, repo, "warm", other)

    # Archiving twice is a no-op; GC must not free an archived image's content.
    again = ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageDigest": image.digest}, targetStorageClass="ARCHIVE"
    )
    assert again["imageStatus"] == "ARCHIVED"
    dockyard(data_dir, "gc", "--grace-period", "0")

    # Restore: ACTIVATING at once, then ACTIVE by a background job.
    restoring = ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageDigest": image.digest}, targetStorageClass="STANDARD"
    )
    assert restoring["imageStatus"] == "ACTIVATING"
    wait_for(
        "restored image ACTIVE",
        lambda: describe(ecr, repo, image.digest)["imageStatus"] == "ACTIVE",
        timeout=10,
    )
    detail = describe(ecr, repo, image.digest, status="ACTIVE")
    assert detail["lastActivatedAt"] >= detail["lastArchivedAt"]
    assert image_digests(ecr, repo) == {image.digest, other.digest}
    pull_and_verify(v2, repo, "cold", image)
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "cold"}])
    assert [i["imageId"]["imageDigest"] for i in got["images"]] == [image.digest]
    # Restoring an ACTIVE image changes nothing.
    active = ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "cold"}, targetStorageClass="STANDARD"
    )
    assert active["imageStatus"] == "ACTIVE"


def test_a_v2_push_restores_an_archived_image(ecr: Any, v2: httpx.Client, repo: str) -> None:
    image = small_image(f"{repo}/again")
    push_v2(v2, repo, image, "v1")
    ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
    )
    assert_not_pullable(ecr, v2, repo, image.digest, "v1")
    push_manifest(v2, repo, "v1", image.manifest)
    detail = describe(ecr, repo, image.digest, status="ACTIVE")
    assert detail["imageStatus"] == "ACTIVE"
    assert detail["lastActivatedAt"] >= detail["lastArchivedAt"]
    pull_and_verify(v2, repo, "v1", image)


def test_put_image_restores_an_archived_image(ecr: Any, v2: httpx.Client, repo: str) -> None:
    image = small_image(f"{repo}/again")
    push_v2(v2, repo, image, "v1")
    ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
    )
    # A push through the ECR API is a push too: it restores the image, and says it did
    # (an error answer that nevertheless restores the image would be wrong either way).
    put = ecr.put_image(
        repositoryName=repo,
        imageManifest=image.manifest.data.decode(),
        imageManifestMediaType=image.manifest.media_type,
        imageTag="v1",
    )
    assert put["image"]["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert describe(ecr, repo, image.digest)["imageStatus"] == "ACTIVE"
    pull_and_verify(v2, repo, image.digest, image)


def test_batch_delete_removes_an_archived_image(ecr: Any, v2: httpx.Client, repo: str) -> None:
    image = small_image(f"{repo}/gone")
    push_v2(v2, repo, image, "v1")
    ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
    )
    deleted = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}])
    assert deleted["failures"] == []
    assert image_digests(ecr, repo, status="ANY") == set()
    expect_error(
        "ImageNotFoundException",
        ecr.update_image_storage_class,
        repositoryName=repo,
        imageId={"imageDigest": image.digest},
        targetStorageClass="STANDARD",
    )


TRANSITION_POLICY = policy_text(
    rule(
        1,
        {
            "tagStatus": "tagged",
            "tagPrefixList": ["cold"],
            "countType": "sinceImagePulled",
            "countUnit": "days",
            "countNumber": 30,
        },
        {"type": "transition", "targetStorageClass": "archive"},
        description="archive cold images not pulled for 30 days",
    )
)


def test_transition_rule_archives_what_was_not_pulled(
    ecr: Any, v2: httpx.Client, repo: str, data_dir: Path
) -> None:
    # tag, pushed days ago, last pulled days ago, archived?
    plan = [
        ("cold-never-pulled", 40, None, True),
        ("cold-pulled-long-ago", 60, 45, True),
        ("cold-pulled-lately", 40, 2, False),
        ("cold-young", 5, None, False),
        ("hot-never-pulled", 40, None, False),  # not selected by the rule
    ]
    images = {}
    for tag, pushed, pulled, _ in plan:
        image = small_image(f"{repo}/{tag}")
        push_v2(v2, repo, image, tag)
        images[tag] = image
        # Push and pull times can't be set through the API: set them in the server's database.
        set_image_times(
            data_dir,
            repo,
            image.digest,
            pushed_at=ago(pushed),
            last_pulled_at=None if pulled is None else ago(pulled),
        )
    wanted = {images[tag].digest for tag, *_, archive in plan if archive}
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=TRANSITION_POLICY)

    ecr.start_lifecycle_policy_preview(repositoryName=repo)
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert {r["imageDigest"] for r in preview["previewResults"]} == wanted
    for r in preview["previewResults"]:
        assert r["action"] == {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}
        assert r["appliedRulePriority"] == 1
        assert r["storageClass"] == "STANDARD"
    assert preview["summary"]["expiringImageTotalCount"] == 0
    assert preview["summary"]["transitioningImageTotalCounts"] == [
        {"targetStorageClass": "ARCHIVE", "imageTotalCount": len(wanted)}
    ]

    before = datetime.now(UTC)
    out = dockyard(data_dir, "lifecycle", "run", "--repository", repo).stdout
    assert f"{len(wanted)} images acted on" in out, out
    assert image_digests(ecr, repo, status="ARCHIVED") == wanted
    assert image_digests(ecr, repo) == {i.digest for i in images.values()} - wanted
    for tag, *_, archive in plan:
        image = images[tag]
        if archive:
            detail = describe(ecr, repo, image.digest, status="ARCHIVED")
            assert detail["lastArchivedAt"] >= before - timedelta(seconds=2)
            assert_not_pullable(ecr, v2, repo, image.digest, tag)
        else:
            pull_and_verify(v2, repo, tag, image)

    # Run again: nothing more to do (archived images are not transitioned twice).
    out = dockyard(data_dir, "lifecycle", "run", "--repository", repo).stdout
    assert "0 images acted on" in out, out


def test_archived_images_expire_only_after_90_days(
    ecr: Any, v2: httpx.Client, repo: str, data_dir: Path
) -> None:
    policy = policy_text(
        rule(
            1,
            {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 30,
            },
            description="expire what has been archived for 30 days",
        )
    )
    ages = {"archived-45-days": 45, "archived-120-days": 120, "archived-10-days": 10}
    images = {}
    for tag, days in ages.items():
        image = small_image(f"{repo}/{tag}")
        push_v2(v2, repo, image, tag)
        ecr.update_image_storage_class(
            repositoryName=repo, imageId={"imageTag": tag}, targetStorageClass="ARCHIVE"
        )
        # Archive times can't be set through the API: move them back in the server's database.
        set_image_times(
            data_dir, repo, image.digest, pushed_at=ago(days + 10), archived_at=ago(days)
        )
        images[tag] = image.digest
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy)
    ecr.start_lifecycle_policy_preview(repositoryName=repo)
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    # 45 days is past the rule's 30 but inside the 90 days lifecycle may not touch.
    assert [r["imageDigest"] for r in preview["previewResults"]] == [images["archived-120-days"]]
    (result,) = preview["previewResults"]
    assert result["action"] == {"type": "EXPIRE"}
    assert result["storageClass"] == "ARCHIVE"
    dockyard(data_dir, "lifecycle", "run", "--repository", repo)
    assert image_digests(ecr, repo, status="ANY") == {
        images["archived-45-days"],
        images["archived-10-days"],
    }
