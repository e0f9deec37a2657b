"""lifecycle.md's worked example through the API: preview, then a real run that agrees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ecr import push_v2
from tests.support.lifecycle import (
    ago,
    dockyard,
    image_digests,
    lines_naming,
    oci_error,
    policy_text,
    rule,
    set_image_times,
    short,
    small_image,
    table_rows,
)

# ECR's lastEvaluatedAt for a policy that has not run yet: 0, the epoch.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

# name, pushed how many days ago, tags
IMAGES = [("A", 10, ["beta-1", "prod-1"]), ("B", 9, ["beta-2", "prod-2"]), ("C", 8, ["beta-3"])]


def keep_newest(priority: int, pattern: str) -> dict[str, Any]:
    selection = {
        "tagStatus": "tagged",
        "tagPatternList": [pattern],
        "countType": "imageCountMoreThan",
        "countNumber": 1,
    }
    return rule(priority, selection, description=f"keep only the newest {pattern} image")


@pytest.mark.parametrize(
    ("first", "second", "expired"),
    [("prod*", "beta*", {"A"}), ("beta*", "prod*", {"A", "B"})],
    ids=["prod-first-only-A", "beta-first-A-and-B"],
)
def test_worked_example_preview_and_run(
    ecr: Any,
    v2: httpx.Client,
    repo: str,
    data_dir: Path,
    first: str,
    second: str,
    expired: set[str],
) -> None:
    digests: dict[str, str] = {}
    for name, days, tags in IMAGES:
        image = small_image(f"{repo}/{name}")
        for tag in tags:
            push_v2(v2, repo, image, tag)
        digests[name] = image.digest
        # Push times can't be set through the API: move them back in the server's database.
        set_image_times(data_dir, repo, image.digest, pushed_at=ago(days))
    names = {digest: name for name, digest in digests.items()}
    text = policy_text(keep_newest(1, first), keep_newest(2, second))
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"] == NEVER

    # The preview.
    started = ecr.start_lifecycle_policy_preview(repositoryName=repo)
    assert started["status"] in ("IN_PROGRESS", "COMPLETE")
    assert started["lifecyclePolicyText"] == text
    ecr.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName=repo, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert preview["status"] == "COMPLETE"
    results = {r["imageDigest"]: r for r in preview["previewResults"]}
    assert {names[d] for d in results} == expired, preview["previewResults"]
    tags_of = {name: sorted(tags) for name, _, tags in IMAGES}
    days_of = {name: days for name, days, _ in IMAGES}
    for digest, result in results.items():
        assert result["action"] == {"type": "EXPIRE"}
        assert result["appliedRulePriority"] == 1  # rule 1 marks every image that goes
        assert sorted(result["imageTags"]) == tags_of[names[digest]]
        assert result["storageClass"] == "STANDARD"
        pushed = result["imagePushedAt"]
        assert abs(pushed - ago(days_of[names[digest]])) < timedelta(minutes=5)
    assert preview["summary"]["expiringImageTotalCount"] == len(expired)
    assert not preview["summary"].get("transitioningImageTotalCounts")

    # A dry run selects the same images and changes nothing.
    dry = dockyard(data_dir, "lifecycle", "run", "--repository", repo, "--dry-run").stdout
    for digest in results:
        assert lines_naming(dry, [repo, "would expire", short(digest)]), dry
    assert f"{len(expired)} images selected" in dry
    assert image_digests(ecr, repo, status="ANY") == set(digests.values())
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"] == NEVER

    # The real run, from the CLI beside the running server.
    before = datetime.now(UTC)
    ran = dockyard(data_dir, "lifecycle", "run", "--repository", repo).stdout
    after = datetime.now(UTC)
    assert f"{len(expired)} images acted on" in ran, ran
    remaining = image_digests(ecr, repo, status="ANY")
    gone = set(digests.values()) - remaining
    assert {names[d] for d in gone} == expired
    assert gone == set(results), "the preview and the run disagree"
    evaluated = ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"]
    assert before - timedelta(seconds=2) <= evaluated <= after + timedelta(seconds=2)

    # What lifecycle did is on record.
    actions = dockyard(data_dir, "lifecycle", "actions", "--limit", "200").stdout
    ours = [row for row in table_rows(actions) if row[1].endswith(f"/{repo}")]
    assert {(row[2], row[3], row[4]) for row in ours} == {
        ("expire", "1", short(digest)) for digest in results
    }, actions
    by_short = {short(digest): name for name, digest in digests.items()}
    for row in ours:
        assert sorted(row[5].split(", ")) == tags_of[by_short[row[4]]]

    # Expired images are gone from /v2; the others still pull.
    for name, digest in digests.items():
        r = v2.get(f"/v2/{repo}/manifests/{digest}")
        if name in expired:
            assert r.status_code == 404 and oci_error(r) == "MANIFEST_UNKNOWN"
        else:
            assert r.status_code == 200
