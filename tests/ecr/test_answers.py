"""ECR's own answers, member for member and word for word, where clients or people read them:
error messages that name an image, the scan quota, members ECR always sends (boto3)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.ecr import ACCOUNT, REGION, expect_error, push_layer_api
from tests.support.images import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Blob,
    Image,
    make_image,
    make_layer,
    make_manifest,
)

MISSING_DIGEST = "sha256:" + "0" * 64
QUOTA = "The scan quota per image has been exceeded. Wait and try again."


def _artifact(seed: str) -> Image:
    """An OCI artifact (not a container image): its scan ends UNSUPPORTED_IMAGE at once."""
    config = Blob(OCI_EMPTY, b"{}")
    layer = make_layer(f"artifact/{seed}", files=1)
    manifest = make_manifest(config, [layer], artifact_type="application/vnd.example.thing")
    return Image(config=config, layers=(layer,), manifest=manifest)


def _scan_settled(ecr: Any, repo: str, image_id: dict[str, str]) -> dict[str, Any]:
    """DescribeImageScanFindings once the scan is no longer IN_PROGRESS."""
    deadline = time.monotonic() + 30
    while True:
        found: dict[str, Any] = ecr.describe_image_scan_findings(
            repositoryName=repo, imageId=image_id
        )
        if found["imageScanStatus"]["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# --------------------------------------------------------------------------- messages


def test_image_not_found_names_both_members(ecr: Any, repo: str) -> None:
    by_tag = expect_error(
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "nope"}],
    )
    assert by_tag.response["Error"]["Message"] == (
        "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within "
        f"the repository with name '{repo}' in the registry with id '{ACCOUNT}'"
    )
    by_digest = expect_error(
        "ImageNotFoundException",
        ecr.start_image_scan,
        repositoryName=repo,
        imageId={"imageDigest": MISSING_DIGEST},
    )
    assert by_digest.response["Error"]["Message"] == (
        f"The image with imageId {{imageDigest:'{MISSING_DIGEST}', imageTag:'null'}} does not "
        f"exist within the repository with name '{repo}' in the registry with id '{ACCOUNT}'"
    )


def test_image_already_exists_names_the_registry(ecr: Any, repo: str) -> None:
    image = make_image(f"exists/{repo}", layers=1)
    push_layer_api(ecr, repo, image, tag="v1")
    error = expect_error(
        "ImageAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=image.manifest.data.decode(),
        imageTag="v1",
    )
    assert error.response["Error"]["Message"] == (
        f"Image with digest '{image.digest}' and tag 'v1' already exists in the repository "
        f"with name '{repo}' in registry with id '{ACCOUNT}'"
    )


def test_scan_not_found_message(ecr: Any, repo: str) -> None:
    image = make_image(f"unscanned/{repo}", layers=1)
    push_layer_api(ecr, repo, image, tag="v1")
    for image_id in ({"imageDigest": image.digest}, {"imageTag": "v1"}):
        error = expect_error(
            "ScanNotFoundException",
            ecr.describe_image_scan_findings,
            repositoryName=repo,
            imageId=image_id,
        )
        # Named by the digest the request resolved to, as ECR does for a digest.
        assert error.response["Error"]["Message"] == (
            f"Image scan does not exist for the image with '{{imageDigest:'{image.digest}', "
            f"imageTag:'null'}}' in the repository with name '{repo}' in the registry with id "
            f"'{ACCOUNT}'"
        ), image_id


# --------------------------------------------------------------------------- the scan quota


def test_start_image_scan_once_a_day_whatever_the_outcome(ecr: Any, repo: str) -> None:
    """A BASIC scan may be started once per image per 24 hours, even when it did not
    complete; a second start is LimitExceededException and changes nothing."""
    artifact = _artifact(repo)
    push_layer_api(ecr, repo, artifact, tag="v1")
    started = ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    assert started["imageScanStatus"]["status"] == "IN_PROGRESS"
    settled = _scan_settled(ecr, repo, {"imageTag": "v1"})
    assert settled["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    for image_id in ({"imageTag": "v1"}, {"imageDigest": artifact.digest}):
        error = expect_error(
            "LimitExceededException", ecr.start_image_scan, repositoryName=repo, imageId=image_id
        )
        assert error.response["Error"]["Message"] == QUOTA
    again = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": "v1"})
    assert again["imageScanStatus"] == settled["imageScanStatus"]


def test_start_image_scan_while_one_is_running(ecr: Any, repo: str) -> None:
    image = make_image(f"running/{repo}", layers=1)
    push_layer_api(ecr, repo, image, tag="v1")
    ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    error = expect_error(
        "LimitExceededException",
        ecr.start_image_scan,
        repositoryName=repo,
        imageId={"imageDigest": image.digest},
    )
    assert error.response["Error"]["Message"] == QUOTA


def test_scan_on_push_counts_towards_the_quota(ecr: Any, repo_name: str) -> None:
    """ECR: "This limit includes if an image was scanned on initial push"."""
    ecr.create_repository(repositoryName=repo_name, imageScanningConfiguration={"scanOnPush": True})
    image = make_image(f"pushed/{repo_name}", layers=1)
    push_layer_api(ecr, repo_name, image, tag="v1")
    _scan_settled(ecr, repo_name, {"imageTag": "v1"})
    expect_error(
        "LimitExceededException",
        ecr.start_image_scan,
        repositoryName=repo_name,
        imageId={"imageTag": "v1"},
    )


# --------------------------------------------------------------------------- PutImage


def test_put_image_needs_a_media_type_somewhere(ecr: Any, repo: str) -> None:
    """No mediaType in the manifest and no imageManifestMediaType: ECR cannot tell the format
    and refuses it. Either one alone is enough."""
    image = make_image(f"no-type/{repo}", layers=1)
    push_layer_api(ecr, repo, image)  # the blobs (and the manifest, untagged)
    document = json.loads(image.manifest.data)
    del document["mediaType"]
    bare = json.dumps(document)
    for absent in ({}, {"imageManifestMediaType": ""}):
        error = expect_error(
            "InvalidParameterException",
            ecr.put_image,
            repositoryName=repo,
            imageManifest=bare,
            imageTag="bare",
            **absent,
        )
        assert error.response["Error"]["Message"] == (
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: "
            "'Invalid JSON syntax'"
        )
    expect_error(
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repo,
        imageIds=[{"imageTag": "bare"}],
    )
    put = ecr.put_image(
        repositoryName=repo,
        imageManifest=bare,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="bare",
    )["image"]
    assert put["imageManifestMediaType"] == OCI_MANIFEST
    assert put["imageManifest"] == bare


def test_put_image_of_a_referrer_reports_its_subject(ecr: Any, repo: str) -> None:
    image = make_image(f"subject/{repo}", layers=1)
    push_layer_api(ecr, repo, image, tag="v1")
    config = Blob(OCI_EMPTY, b"{}")
    layer = make_layer(f"signature/{repo}", files=1)
    signature = Image(
        config=config,
        layers=(layer,),
        manifest=make_manifest(
            config, [layer], subject=image.manifest, artifact_type="application/vnd.example.sig"
        ),
    )
    push_layer_api(ecr, repo, signature)
    details = {
        d["imageDigest"]: d for d in ecr.describe_images(repositoryName=repo)["imageDetails"]
    }
    assert details[signature.digest]["subjectManifestDigest"] == image.digest
    assert "subjectManifestDigest" not in details[image.digest]


# --------------------------------------------------------------------------- members ECR sends


def test_lifecycle_policy_never_evaluated_says_epoch(ecr: Any, repo: str) -> None:
    text = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 3650,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    got = ecr.get_lifecycle_policy(repositoryName=repo)
    assert got["lastEvaluatedAt"] == epoch
    deleted = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert deleted["lastEvaluatedAt"] == epoch
    assert deleted["lifecyclePolicyText"] == text


@pytest.mark.parametrize("encryption_type", ["KMS", "KMS_DSSE"])
def test_kms_without_a_key_names_the_managed_key(
    ecr: Any, repo_name: str, encryption_type: str
) -> None:
    created = ecr.create_repository(
        repositoryName=repo_name, encryptionConfiguration={"encryptionType": encryption_type}
    )["repository"]["encryptionConfiguration"]
    assert created["encryptionType"] == encryption_type
    prefix = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
    assert created["kmsKey"].startswith(prefix)
    key_id = created["kmsKey"].removeprefix(prefix)
    assert len(key_id) == 36 and key_id.count("-") == 4, key_id
    described = ecr.describe_repositories(repositoryNames=[repo_name])["repositories"][0]
    assert described["encryptionConfiguration"] == created
    # One managed key per account and region: every such repository names the same one.
    other = ecr.create_repository(
        repositoryName=f"{repo_name}-2", encryptionConfiguration={"encryptionType": "KMS"}
    )["repository"]["encryptionConfiguration"]
    assert other["kmsKey"] == created["kmsKey"]
    # AES256 names no key.
    plain = ecr.create_repository(repositoryName=f"{repo_name}-3")["repository"]
    assert plain["encryptionConfiguration"] == {"encryptionType": "AES256"}
