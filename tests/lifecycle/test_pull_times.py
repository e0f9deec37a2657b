"""lastRecordedPullTime: set by pulls, not by HEAD, not by excluded principals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import grant_policy
from tests.support.ecr import AwsCli, expect_error, login_client, make_client, push_v2
from tests.support.images import MANIFEST_ACCEPT
from tests.support.lifecycle import ROOT_ARN, describe, dockyard, small_image
from tests.support.servers import DockyardProcess

SLACK = timedelta(seconds=2)


def pulled_at(ecr: Any, repo: str, digest: str) -> datetime | None:
    moment: datetime | None = describe(ecr, repo, digest).get("lastRecordedPullTime")
    return moment


def get_manifest(v2: httpx.Client, repo: str, reference: str, method: str = "GET") -> None:
    r = v2.request(method, f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200, r.text


@pytest.fixture
def no_exclusions(ecr: Any) -> Iterator[None]:
    """Exclusions are account-wide: leave none behind for the other tests."""
    yield
    for arn in ecr.list_pull_time_update_exclusions().get("pullTimeUpdateExclusions", []):
        ecr.deregister_pull_time_update_exclusion(principalArn=arn)


def test_pulls_record_the_pull_time(ecr: Any, v2: httpx.Client, repo: str) -> None:
    by_get, by_batch = small_image(f"{repo}/get"), small_image(f"{repo}/batch")
    push_v2(v2, repo, by_get, "get")
    push_v2(v2, repo, by_batch, "batch")
    assert pulled_at(ecr, repo, by_get.digest) is None
    assert pulled_at(ecr, repo, by_batch.digest) is None

    # HEAD is not a pull; neither is reading a blob, describing or listing.
    get_manifest(v2, repo, "get", "HEAD")
    get_manifest(v2, repo, by_get.digest, "HEAD")
    assert v2.get(f"/v2/{repo}/blobs/{by_get.config.digest}").status_code == 200
    ecr.list_images(repositoryName=repo)
    assert pulled_at(ecr, repo, by_get.digest) is None

    before = datetime.now(UTC)
    get_manifest(v2, repo, "get")
    moment = pulled_at(ecr, repo, by_get.digest)
    assert moment is not None, "a /v2 manifest GET did not update lastRecordedPullTime"
    assert before - SLACK <= moment <= datetime.now(UTC) + SLACK
    assert pulled_at(ecr, repo, by_batch.digest) is None

    before = datetime.now(UTC)
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "batch"}])
    assert len(got["images"]) == 1
    moment = pulled_at(ecr, repo, by_batch.digest)
    assert moment is not None, "BatchGetImage did not update lastRecordedPullTime"
    assert before - SLACK <= moment <= datetime.now(UTC) + SLACK


@pytest.fixture(scope="module")
def puller(data_dir: Path, lc_server: DockyardProcess) -> tuple[str, Any, httpx.Client]:
    """An IAM user (made with the dockyard CLI): its ARN, a boto3 client, a /v2 client."""
    name = f"puller-{uuid.uuid4().hex[:8]}"
    arn = dockyard(data_dir, "iam", "create-user", name).stdout.strip()
    assert arn == f"arn:aws:iam::000000000000:user/{name}"
    grant_policy(data_dir, name)  # a user with no policy may do nothing
    out = dockyard(data_dir, "iam", "create-access-key", "--user", name).stdout
    keys = dict(line.split("=", 1) for line in out.split())
    client = make_client(
        lc_server.url,
        access_key_id=keys["AWS_ACCESS_KEY_ID"],
        secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )
    return arn, client, login_client(client, lc_server.url)


def test_the_root_arn_cannot_be_excluded(ecr_unvalidated: Any) -> None:
    # ECR's model only takes user and role ARNs (PrincipalArn's pattern ends ":(role|user)/...").
    error = expect_error(
        "InvalidParameterException",
        ecr_unvalidated.register_pull_time_update_exclusion,
        principalArn=ROOT_ARN,
    )
    assert "principalArn" in error.response["Error"]["Message"]


@pytest.fixture
def excluded(ecr: Any, puller: tuple[str, Any, httpx.Client]) -> Iterator[str]:
    """The puller's ARN, registered as a pull-time update exclusion for the test."""
    arn = puller[0]
    ecr.register_pull_time_update_exclusion(principalArn=arn)
    yield arn
    ecr.deregister_pull_time_update_exclusion(principalArn=arn)


def test_excluded_principal_v2_pulls_do_not_count(
    ecr: Any, v2: httpx.Client, repo: str, puller: tuple[str, Any, httpx.Client], excluded: str
) -> None:
    _, _, user_v2 = puller
    quiet, loud = small_image(f"{repo}/quiet"), small_image(f"{repo}/loud")
    push_v2(v2, repo, quiet, "quiet")
    push_v2(v2, repo, loud, "loud")
    get_manifest(user_v2, repo, "quiet")
    get_manifest(user_v2, repo, quiet.digest)
    assert pulled_at(ecr, repo, quiet.digest) is None, "an excluded principal's /v2 pull counted"
    get_manifest(user_v2, repo, "loud")
    get_manifest(v2, repo, "loud")  # root is not excluded
    assert pulled_at(ecr, repo, loud.digest) is not None


def test_excluded_principal_batch_get_image_does_not_count(
    ecr: Any, v2: httpx.Client, repo: str, puller: tuple[str, Any, httpx.Client], excluded: str
) -> None:
    _, user_ecr, _ = puller
    quiet = small_image(f"{repo}/quiet")
    push_v2(v2, repo, quiet, "quiet")
    got = user_ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "quiet"}])
    assert [i["imageId"]["imageDigest"] for i in got["images"]] == [quiet.digest]
    assert pulled_at(ecr, repo, quiet.digest) is None, (
        "BatchGetImage by an excluded principal updated lastRecordedPullTime"
    )


def test_exclusions_round_trip(
    ecr: Any,
    v2: httpx.Client,
    repo: str,
    aws: AwsCli,
    puller: tuple[str, Any, httpx.Client],
    no_exclusions: None,
) -> None:
    arn, _, user_v2 = puller
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []
    before = datetime.now(UTC)
    registered = ecr.register_pull_time_update_exclusion(principalArn=arn)
    assert registered["principalArn"] == arn
    assert before - SLACK <= registered["createdAt"] <= datetime.now(UTC) + SLACK
    expect_error(
        "ExclusionAlreadyExistsException", ecr.register_pull_time_update_exclusion, principalArn=arn
    )
    assert aws("list-pull-time-update-exclusions")["pullTimeUpdateExclusions"] == [arn]

    deregistered = ecr.deregister_pull_time_update_exclusion(principalArn=arn)
    assert deregistered["principalArn"] == arn
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []
    expect_error(
        "ExclusionNotFoundException", ecr.deregister_pull_time_update_exclusion, principalArn=arn
    )
    aws.error(
        "ExclusionNotFoundException",
        "deregister-pull-time-update-exclusion",
        "--principal-arn",
        arn,
    )

    # The same with the aws CLI; afterwards the user's pulls count again.
    aws("register-pull-time-update-exclusion", "--principal-arn", arn)
    aws.error(
        "ExclusionAlreadyExistsException",
        "register-pull-time-update-exclusion",
        "--principal-arn",
        arn,
    )
    assert aws("list-pull-time-update-exclusions")["pullTimeUpdateExclusions"] == [arn]
    aws("deregister-pull-time-update-exclusion", "--principal-arn", arn)
    assert aws("list-pull-time-update-exclusions")["pullTimeUpdateExclusions"] == []
    image = small_image(f"{repo}/counted")
    push_v2(v2, repo, image, "counted")
    before = datetime.now(UTC)
    get_manifest(user_v2, repo, "counted")
    moment = pulled_at(ecr, repo, image.digest)
    assert moment is not None and moment >= before - SLACK
