"""Policies ECR refuses, refused the same way; the not-found errors of the lifecycle API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.ecr import AwsCli, expect_error
from tests.support.lifecycle import policy_text, rule

COUNT_30 = {"countType": "imageCountMoreThan", "countNumber": 30}
DAYS_7 = {"countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}
UNTAGGED = {"tagStatus": "untagged", **DAYS_7}
ANY = {"tagStatus": "any", **COUNT_30}


def tagged(**selection: Any) -> dict[str, Any]:
    return {"tagStatus": "tagged", "tagPrefixList": ["prod"], **COUNT_30, **selection}


def text(*rules: dict[str, Any]) -> str:
    return policy_text(*rules)


# (case id, policy text, words the message must hold)
INVALID = [
    ("too-short", '{"rules":[]}', ["100"]),
    ("99-chars", json.dumps({"rules": [{"description": "x" * 61}]})[:99], ["100"]),
    ("not-json", "{" + "x" * 120, ["JSON"]),
    ("no-rules-key", "{}" + " " * 100, ["rules"]),
    ("zero-rules", '{"rules": []}' + " " * 100, ["rules"]),
    ("51-rules", text(*(rule(i, tagged(tagPrefixList=[f"t{i}"])) for i in range(1, 52))), ["50"]),
    ("duplicate-priority", text(rule(1, tagged()), rule(1, UNTAGGED)), ["rulePriority", "1"]),
    ("priority-0", text(rule(0, tagged())), ["rulePriority"]),
    ("any-not-last", text(rule(1, ANY), rule(2, UNTAGGED)), ["ANY", "lowest priority"]),
    (
        "tagged-without-prefix-or-pattern",
        text(rule(1, {"tagStatus": "tagged", **COUNT_30})),
        ["tagPrefixList", "tagPatternList"],
    ),
    (
        "tagged-with-prefix-and-pattern",
        text(rule(1, tagged(tagPatternList=["prod*"]))),
        ["tagPrefixList", "tagPatternList"],
    ),
    ("untagged-with-prefix", text(rule(1, {**UNTAGGED, "tagPrefixList": ["x"]})), ["tagged"]),
    ("count-unit-with-count", text(rule(1, tagged(countUnit="days"))), ["countUnit"]),
    (
        "days-without-count-unit",
        text(rule(1, {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 7})),
        ["countUnit"],
    ),
    ("count-unit-hours", text(rule(1, {**UNTAGGED, "countUnit": "hours"})), ["days"]),
    ("count-number-0", text(rule(1, tagged(countNumber=0))), ["countNumber"]),
    ("count-number-text", text(rule(1, tagged(countNumber="5"))), ["countNumber"]),
    ("bad-tag-status", text(rule(1, {**ANY, "tagStatus": "TAGGED-ish"})), ["tagStatus"]),
    ("bad-count-type", text(rule(1, tagged(countType="sinceForever"))), ["countType"]),
    (
        "five-wildcards",
        text(rule(1, {"tagStatus": "tagged", "tagPatternList": ["a*b*c*d*e*f"], **COUNT_30})),
        ["wildcard"],
    ),
    (
        "since-pulled-with-expire",
        text(rule(1, {**UNTAGGED, "countType": "sinceImagePulled"})),
        ["sinceImagePulled"],
    ),
    (
        "transition-without-target",
        text(rule(1, {**UNTAGGED, "countType": "sinceImagePulled"}, {"type": "transition"})),
        ["targetStorageClass"],
    ),
    (
        "since-transitioned-in-standard",
        text(rule(1, {**UNTAGGED, "countType": "sinceImageTransitioned"})),
        ["sinceImageTransitioned"],
    ),
    ("bad-action", text(rule(1, tagged(), {"type": "delete"})), ["type"]),
    ("two-untagged-rules", text(rule(1, UNTAGGED), rule(2, UNTAGGED)), ["untagged"]),
    ("same-prefixes-twice", text(rule(1, tagged()), rule(2, tagged())), ["tagPrefixList"]),
    ("unknown-rule-key", text({**rule(1, tagged()), "selektion": {}}), ["selektion"]),
]


@pytest.mark.parametrize(("policy", "words"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_policy_is_refused(
    ecr_unvalidated: Any, ecr: Any, repo: str, policy: str, words: list[str]
) -> None:
    # botocore would refuse a text under 100 characters before sending it: go without checks.
    error = expect_error(
        "InvalidParameterException",
        ecr_unvalidated.put_lifecycle_policy,
        repositoryName=repo,
        lifecyclePolicyText=policy,
    )
    message = error.response["Error"]["Message"]
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    # Nothing was stored, and a preview of the same text is refused the same way.
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.start_lifecycle_policy_preview,
        repositoryName=repo,
        lifecyclePolicyText=policy,
    )


def test_a_refused_policy_leaves_the_old_one(ecr: Any, repo: str) -> None:
    good = text(rule(1, UNTAGGED), rule(2, ANY))
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=good)
    expect_error(
        "InvalidParameterException",
        ecr.put_lifecycle_policy,
        repositoryName=repo,
        lifecyclePolicyText=text(rule(1, ANY), rule(2, UNTAGGED)),
    )
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == good


def test_valid_edge_cases_are_accepted(ecr: Any, repo: str) -> None:
    # Priorities need not be consecutive; any is last in each storage class; the guide's
    # combined archive-and-expire example: archive rules are a storage class of their own.
    archive_then_expire = text(
        rule(
            5,
            {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days",
             "countNumber": 30},
            {"type": "transition", "targetStorageClass": "archive"},
        ),
        rule(
            2,
            {"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned",
             "countUnit": "days", "countNumber": 365},
        ),
        rule(
            1,
            {"tagStatus": "tagged", "tagPatternList": ["a*b*c*d*"], **COUNT_30},
        ),
    )  # fmt: skip
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=archive_then_expire)
    assert (
        ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == archive_then_expire
    )


def test_not_found_errors(ecr: Any, repo: str, aws: AwsCli) -> None:
    for call in (
        ecr.get_lifecycle_policy,
        ecr.delete_lifecycle_policy,
        ecr.start_lifecycle_policy_preview,
    ):
        expect_error("LifecyclePolicyNotFoundException", call, repositoryName=repo)
    expect_error(
        "LifecyclePolicyPreviewNotFoundException",
        ecr.get_lifecycle_policy_preview,
        repositoryName=repo,
    )
    aws.error("LifecyclePolicyNotFoundException", "get-lifecycle-policy", "--repository-name", repo)
    aws.error(
        "LifecyclePolicyPreviewNotFoundException",
        "get-lifecycle-policy-preview",
        "--repository-name",
        repo,
    )
    missing = f"{repo}-missing"
    expect_error(
        "RepositoryNotFoundException",
        ecr.put_lifecycle_policy,
        repositoryName=missing,
        lifecyclePolicyText=text(rule(1, UNTAGGED)),
    )
    expect_error("RepositoryNotFoundException", ecr.get_lifecycle_policy, repositoryName=missing)

    # A preview of a given text needs no stored policy, and stores none.
    given = text(rule(1, UNTAGGED))
    started = ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=given)
    assert started["lifecyclePolicyText"] == given
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert preview["status"] == "COMPLETE"
    assert preview["previewResults"] == []
    assert preview["summary"]["expiringImageTotalCount"] == 0
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)

    # Put, delete (which answers with the policy), then it is gone.
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=given)
    deleted = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert deleted["lifecyclePolicyText"] == given
    assert deleted["repositoryName"] == repo
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    expect_error(
        "LifecyclePolicyNotFoundException", ecr.delete_lifecycle_policy, repositoryName=repo
    )
