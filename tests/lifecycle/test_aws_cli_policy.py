"""The seeds' lifecycle policy, put and previewed with the real ``aws`` CLI.

Rules (``any`` must come last, so it has the highest priority number):
1. tagged ``prod*`` images: expire 90 days after push;
2. untagged images: expire 7 days after push;
3. any image: keep the newest 30.

The repository: v01..v35 (v01 oldest, 49 days .. 15 days old), prod-old (100 days),
prod-new (5 days), untagged u1..u3 (8, 9, 10 days) and u4, u5 (1, 2 days).

Rule 3 counts every image, including those rules 1 and 2 selected (lifecycle.md, rule 4
of "Applying the rules"): newest first come u4, u5, prod-new, u1, u2, u3, then v35..v12
(30 in all); past them v11..v01 and prod-old. prod-old matched rule 1's selection, so
rule 3 can't take it. Expected: prod-old by rule 1, u1..u3 by rule 2, v01..v11 by rule 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.ecr import AwsCli, push_v2
from tests.support.images import make_layer
from tests.support.lifecycle import (
    ago,
    dockyard,
    image_digests,
    policy_text,
    rule,
    set_image_times,
    small_image,
)

POLICY = policy_text(
    rule(
        1,
        {
            "tagStatus": "tagged",
            "tagPrefixList": ["prod"],
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 90,
        },
        description="prod images are kept 90 days",
    ),
    rule(
        2,
        {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 7,
        },
        description="untagged images go after 7 days",
    ),
    rule(
        3,
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
        description="keep the last 30 images",
    ),
)


def populate(v2: httpx.Client, repo: str, data_dir: Path) -> dict[str, tuple[str, int | None]]:
    """Push the images; return name -> (digest, the rule priority expected to expire it)."""
    shared = make_layer(f"{repo}/base", files=1, max_size=512)
    plan: list[tuple[str, str | None, float, int | None]] = []  # name, tag, days, rule
    for n in range(1, 36):
        plan.append((f"v{n:02d}", f"v{n:02d}", 50 - n, 3 if n <= 11 else None))
    plan += [("prod-old", "prod-old", 100, 1), ("prod-new", "prod-new", 5, None)]
    plan += [(f"u{n}", None, days, 2) for n, days in ((1, 8), (2, 9), (3, 10))]
    plan += [(f"u{n}", None, days, None) for n, days in ((4, 1), (5, 2))]
    images: dict[str, tuple[str, int | None]] = {}
    for name, tag, days, expected_rule in plan:
        image = small_image(f"{repo}/{name}", shared, unique_layers=0)
        push_v2(v2, repo, image, tag)
        # Push times can't be set through the API: move them back in the server's database.
        set_image_times(data_dir, repo, image.digest, pushed_at=ago(days))
        images[name] = (image.digest, expected_rule)
    return images


def test_seed_policy_with_the_aws_cli(
    aws: AwsCli, ecr: Any, v2: httpx.Client, repo: str, data_dir: Path, tmp_path: Path
) -> None:
    images = populate(v2, repo, data_dir)
    expected = {digest: r for digest, r in images.values() if r is not None}
    assert len(expected) == 15
    names = {digest: name for name, (digest, _) in images.items()}

    policy_file = tmp_path / "policy.json"
    policy_file.write_text(POLICY)
    put = aws(
        "put-lifecycle-policy",
        "--repository-name",
        repo,
        "--lifecycle-policy-text",
        f"file://{policy_file}",
    )
    assert put["repositoryName"] == repo
    assert json.loads(put["lifecyclePolicyText"]) == json.loads(POLICY)
    got = aws("get-lifecycle-policy", "--repository-name", repo)
    assert json.loads(got["lifecyclePolicyText"]) == json.loads(POLICY)

    started = aws("start-lifecycle-policy-preview", "--repository-name", repo)
    assert started["status"] in ("IN_PROGRESS", "COMPLETE")
    aws("wait", "lifecycle-policy-preview-complete", "--repository-name", repo)

    # The CLI follows nextToken itself; --page-size 4 makes it take four pages.
    preview = aws("get-lifecycle-policy-preview", "--repository-name", repo, "--page-size", "4")
    assert preview["status"] == "COMPLETE"
    results = preview["previewResults"]
    assert len(results) == len({r["imageDigest"] for r in results}), "an image listed twice"
    found = {r["imageDigest"]: r["appliedRulePriority"] for r in results}
    diff = sorted(
        (names[d], found.get(d), expected.get(d))
        for d in found.keys() | expected.keys()
        if found.get(d) != expected.get(d)
    )
    assert not diff, f"(image, rule in the preview, rule expected): {diff}"
    for r in results:
        assert r["action"] == {"type": "EXPIRE"}
        assert r["storageClass"] == "STANDARD"
        name = names[r["imageDigest"]]
        assert r["imageTags"] == ([] if name.startswith("u") else [name])
    assert preview["summary"]["expiringImageTotalCount"] == 15

    # One page at a time, by hand.
    first = aws("get-lifecycle-policy-preview", "--repository-name", repo, "--max-items", "5")
    assert len(first["previewResults"]) == 5
    rest = aws(
        "get-lifecycle-policy-preview",
        "--repository-name",
        repo,
        "--starting-token",
        first["NextToken"],
    )
    both = [r["imageDigest"] for r in first["previewResults"] + rest["previewResults"]]
    assert sorted(both) == sorted(expected)

    untagged = aws(
        "get-lifecycle-policy-preview", "--repository-name", repo, "--filter", "tagStatus=UNTAGGED"
    )["previewResults"]
    assert sorted(names[r["imageDigest"]] for r in untagged) == ["u1", "u2", "u3"]
    tagged = aws(
        "get-lifecycle-policy-preview", "--repository-name", repo, "--filter", "tagStatus=TAGGED"
    )["previewResults"]
    assert len(tagged) == 12
    one = aws(
        "get-lifecycle-policy-preview", "--repository-name", repo, "--image-ids", "imageTag=v07"
    )["previewResults"]
    assert [(names[r["imageDigest"]], r["appliedRulePriority"]) for r in one] == [("v07", 3)]

    # The real run does what the preview said.
    dockyard(data_dir, "lifecycle", "run", "--repository", repo)
    listed = aws("list-images", "--repository-name", repo)["imageIds"]
    remaining = {i["imageDigest"] for i in listed}
    assert remaining == {digest for digest, _ in images.values()} - set(expected)
    assert image_digests(ecr, repo, status="ANY") == remaining
    assert len(remaining) == 27
    assert "lastEvaluatedAt" in aws("get-lifecycle-policy", "--repository-name", repo)
