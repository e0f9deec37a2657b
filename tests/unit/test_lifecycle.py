"""Lifecycle policies: validation (docs/lifecycle.md) and evaluation, ECR's way."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dockyard.domain.errors import DockyardError, LifecyclePolicyInvalid
from dockyard.domain.lifecycle import (
    ANY_NOT_LAST,
    ActionType,
    CountType,
    Decision,
    LifecycleImage,
    Policy,
    Selection,
    StorageClass,
    TagStatus,
    evaluate,
    parse_policy,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ST = "sinceImageTransitioned"


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# --------------------------------------------------------------------------- builders


def rule(
    priority: int,
    status: str = "any",
    *,
    prefixes: list[str] | None = None,
    patterns: list[str] | None = None,
    count_type: str = "imageCountMoreThan",
    number: int = 1,
    storage: str | None = None,
    action: str = "expire",
    **extra: Any,
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": status}
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    if storage is not None:
        selection["storageClass"] = storage
    selection["countType"] = count_type
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    selection["countNumber"] = number
    act: dict[str, Any] = {"type": action}
    if action == "transition":
        act["targetStorageClass"] = "archive"
    doc: dict[str, Any] = {"rulePriority": priority, "selection": selection, "action": act}
    doc.update(extra)
    return doc


def text(*rules: dict[str, Any]) -> str:
    """Policy text; padded with whitespace to ECR's 100-character minimum when shorter."""
    body = json.dumps({"rules": list(rules)})
    return body.ljust(100)


def policy(*rules: dict[str, Any]) -> Policy:
    return parse_policy(text(*rules))


def img(
    digest: str,
    *tags: str,
    age: float,
    pulled: float | None = None,
    storage: str = "standard",
    archived: float | None = None,
    restored: float | None = None,
    parents: tuple[str, ...] = (),
    subject: str | None = None,
) -> LifecycleImage:
    return LifecycleImage(
        digest=digest,
        tags=tags,
        pushed_at=days_ago(age),
        last_pulled_at=None if pulled is None else days_ago(pulled),
        storage_class=storage,
        archived_at=None if archived is None else days_ago(archived),
        restored_at=None if restored is None else days_ago(restored),
        parents=parents,
        subject=subject,
    )


def expired(decisions: list[Decision]) -> list[str]:
    return [d.digest for d in decisions if d.action is ActionType.EXPIRE]


def transitioned(decisions: list[Decision]) -> list[str]:
    return [d.digest for d in decisions if d.action is ActionType.TRANSITION]


# --------------------------------------------------------------------------- validation

VALID: list[tuple[str, str]] = [
    (
        "guide: prod* older than 14 days",
        text(rule(1, "tagged", patterns=["prod*"], count_type="sinceImagePushed", number=14)),
    ),
    ("guide: keep one untagged image", text(rule(1, "untagged", number=1))),
    (
        "guide: prod and beta prefixes, keep one each",
        text(
            rule(1, "tagged", prefixes=["prod"], number=1),
            rule(2, "tagged", prefixes=["beta"], number=1),
        ),
    ),
    (
        "guide: several prefixes in one rule",
        text(
            rule(1, "tagged", prefixes=["alpha", "beta"], count_type="sinceImagePushed", number=5)
        ),
    ),
    ("guide: all images, keep one", text(rule(1, "any", number=1))),
    (
        "guide: combined archive and expire",
        text(
            rule(1, "any", count_type="sinceImagePulled", number=90, action="transition"),
            rule(2, "any", storage="archive", count_type="sinceImageTransitioned", number=365),
        ),
    ),
    (
        "untagged then any, priorities need not be consecutive",
        text(rule(5, "untagged", number=3), rule(100, "any", number=9)),
    ),
    (
        "transition by count and by push age",
        text(
            rule(1, "tagged", prefixes=["a"], number=3, action="transition"),
            rule(2, "tagged", prefixes=["b"], count_type="sinceImagePushed", action="transition"),
        ),
    ),
    ("four wildcards", text(rule(1, "tagged", patterns=["*a*b*c*"]))),
    ("a lone wildcard", text(rule(1, "tagged", patterns=["*"]))),
    (
        "the same prefix list in both storage classes",
        text(
            rule(1, "tagged", prefixes=["prod"]),
            rule(2, "tagged", prefixes=["prod"], storage="archive", count_type=_ST),
        ),
    ),
    (
        "a prefix list and a pattern list with the same strings",
        text(rule(1, "tagged", prefixes=["prod"]), rule(2, "tagged", patterns=["prod"])),
    ),
    ("explicit standard storage class", text(rule(1, "untagged", storage="standard"))),
    ("a description", text(rule(1, "any", description="keep the newest"))),
    ("fifty rules", text(*[rule(i, "tagged", prefixes=[f"p{i}"]) for i in range(1, 51)])),
    ("largest priority and count", text(rule(2**31 - 1, "any", number=2**31 - 1))),
]


@pytest.mark.parametrize("source", [t for _, t in VALID], ids=[n for n, _ in VALID])
def test_valid_policies_parse(source: str) -> None:
    parsed = parse_policy(source)
    assert [r.priority for r in parsed.rules] == sorted(r.priority for r in parsed.rules)
    assert parse_policy(parsed.to_json()) == parsed


def _mutate(path: str, value: Any, base: dict[str, Any] | None = None) -> str:
    """A one-rule policy with ``path`` (dotted, inside the rule) set to value (or removed)."""
    doc = base or rule(1, "tagged", prefixes=["prod"], number=2)
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[key]
    if value is _REMOVE:
        del target[last]
    else:
        target[last] = value
    return text(doc)


_REMOVE = object()

INVALID: list[tuple[str, str, str]] = [
    ("shorter than 100 characters", '{"rules": []}', "100 to 30720 characters"),
    ("longer than 30,720 characters", text(rule(1, "any")).ljust(30_721), "not 30721"),
    ("not JSON", "{" + " " * 120, "not valid JSON"),
    ("not an object", json.dumps([rule(1, "any")] * 2), "must be a JSON object"),
    ("no rules", json.dumps({"ruls": [rule(1, "any")]}), "unexpected property 'ruls'"),
    ("rules missing", "{" + " " * 120 + "}", "must have 'rules'"),
    ("rules not a list", json.dumps({"rules": rule(1, "any")}), "rules must be a list"),
    ("no rule at all", json.dumps({"rules": []}).ljust(100), "1 to 50 rules, not 0"),
    (
        "51 rules",
        text(*[rule(i, "tagged", prefixes=[f"p{i}"]) for i in range(1, 52)]),
        "1 to 50 rules, not 51",
    ),
    ("a rule that is not an object", json.dumps({"rules": ["x" * 100]}), "rules[0] must be"),
    ("unknown rule property", text(rule(1, "any", ttl=3)), "unexpected property 'ttl'"),
    ("missing rulePriority", _mutate("rulePriority", _REMOVE), "rulePriority is required"),
    ("rulePriority 0", _mutate("rulePriority", 0), "rulePriority must be between 1"),
    ("negative rulePriority", _mutate("rulePriority", -3), "rulePriority must be between 1"),
    ("rulePriority as text", _mutate("rulePriority", "1"), "rulePriority must be an integer"),
    ("fractional rulePriority", _mutate("rulePriority", 1.5), "must be an integer"),
    ("boolean rulePriority", _mutate("rulePriority", True), "must be an integer"),
    ("rulePriority over 32 bits", _mutate("rulePriority", 2**31), "must be between 1"),
    (
        "duplicate rulePriority",
        text(rule(3, "tagged", prefixes=["a"]), rule(3, "tagged", prefixes=["b"])),
        "rulePriority 3 is used by more than one rule",
    ),
    ("description not text", _mutate("description", 5), "description must be a string"),
    ("description null", _mutate("description", None), "description must be a string"),
    ("missing selection", _mutate("selection", _REMOVE), "selection is required"),
    ("missing action", _mutate("action", _REMOVE), "action is required"),
    ("selection not an object", _mutate("selection", "tagged" * 20), "must be a JSON object"),
    (
        "unknown selection property",
        _mutate("selection.tagPrefix", ["x"]),
        "unexpected property 'tagPrefix'",
    ),
    ("missing tagStatus", _mutate("selection.tagStatus", _REMOVE), "tagStatus is required"),
    ("upper-case tagStatus", _mutate("selection.tagStatus", "TAGGED"), "must be one of"),
    ("unknown tagStatus", _mutate("selection.tagStatus", "some"), "must be one of"),
    (
        "tagged without a list",
        _mutate("selection.tagPrefixList", _REMOVE),
        "requires tagPrefixList or tagPatternList",
    ),
    (
        "tagged with both lists",
        _mutate("selection.tagPatternList", ["prod*"]),
        "cannot both be specified",
    ),
    (
        "untagged with a prefix list",
        _mutate("selection.tagStatus", "untagged"),
        "tagPrefixList is only allowed when tagStatus is 'tagged'",
    ),
    (
        "any with a pattern list",
        text(rule(1, "any", patterns=["p*"])),
        "tagPatternList is only allowed when tagStatus is 'tagged'",
    ),
    ("an empty prefix list", _mutate("selection.tagPrefixList", []), "non-empty list"),
    ("a prefix list of numbers", _mutate("selection.tagPrefixList", [1]), "non-empty strings"),
    ("an empty prefix", _mutate("selection.tagPrefixList", [""]), "non-empty strings"),
    ("a prefix list as text", _mutate("selection.tagPrefixList", "prod"), "non-empty list"),
    (
        "five wildcards in a pattern",
        text(rule(1, "tagged", patterns=["ok*", "*a*b*c*d*"])),
        "'*a*b*c*d*' has more than 4 wildcards",
    ),
    ("unknown storageClass", _mutate("selection.storageClass", "glacier"), "storageClass must"),
    ("missing countType", _mutate("selection.countType", _REMOVE), "countType is required"),
    ("unknown countType", _mutate("selection.countType", "imageCount"), "countType must"),
    ("missing countNumber", _mutate("selection.countNumber", _REMOVE), "countNumber is required"),
    ("countNumber 0", _mutate("selection.countNumber", 0), "countNumber must be between 1"),
    ("countNumber as text", _mutate("selection.countNumber", "5"), "must be an integer"),
    ("countNumber over 32 bits", _mutate("selection.countNumber", 2**31), "must be between"),
    (
        "countUnit with imageCountMoreThan",
        _mutate("selection.countUnit", "days"),
        "countUnit is not allowed with countType 'imageCountMoreThan'",
    ),
    (
        "sinceImagePushed without countUnit",
        _mutate("selection.countUnit", _REMOVE, rule(1, "any", count_type="sinceImagePushed")),
        "countUnit is required with countType 'sinceImagePushed'",
    ),
    (
        "countUnit hours",
        _mutate("selection.countUnit", "hours", rule(1, "any", count_type="sinceImagePushed")),
        "countUnit must be 'days'",
    ),
    ("missing action type", _mutate("action.type", _REMOVE), "action.type is required"),
    ("unknown action type", _mutate("action.type", "delete"), "action.type must be one of"),
    ("upper-case action type", _mutate("action.type", "EXPIRE"), "action.type must be one of"),
    (
        "unknown action property",
        _mutate("action.when", "now"),
        "unexpected property 'when'",
    ),
    (
        "transition without a target",
        _mutate("action", {"type": "transition"}),
        "targetStorageClass is required with action type 'transition'",
    ),
    (
        "transition to standard",
        _mutate("action", {"type": "transition", "targetStorageClass": "standard"}),
        "targetStorageClass must be 'archive'",
    ),
    (
        "expire with a target",
        _mutate("action.targetStorageClass", "archive"),
        "only allowed with action type 'transition'",
    ),
    (
        "expire with a null target",
        _mutate("action.targetStorageClass", None),
        "only allowed with action type 'transition'",
    ),
    (
        "sinceImagePulled with expire",
        text(rule(1, "any", count_type="sinceImagePulled")),
        "'sinceImagePulled' is only allowed with action 'transition'",
    ),
    (
        "sinceImageTransitioned with transition",
        text(
            rule(1, "any", storage="archive", count_type=_ST, action="transition"),
        ),
        "'sinceImageTransitioned' is only allowed with action 'expire'",
    ),
    (
        "sinceImageTransitioned on standard images",
        text(rule(1, "any", count_type="sinceImageTransitioned")),
        "'sinceImageTransitioned' requires storageClass 'archive'",
    ),
    (
        "archive rule counting pushes",
        text(rule(1, "any", storage="archive", count_type="sinceImagePushed")),
        "storageClass 'archive' is only allowed with countType 'sinceImageTransitioned'",
    ),
    (
        "archive rule counting images",
        text(rule(1, "untagged", storage="archive", action="transition")),
        "storageClass 'archive' is only allowed",
    ),
    (
        "any before a tagged rule",
        text(rule(1, "any"), rule(2, "tagged", prefixes=["prod"])),
        ANY_NOT_LAST,
    ),
    (
        "any before an untagged rule, priorities out of order in the text",
        text(rule(9, "untagged"), rule(4, "any")),
        ANY_NOT_LAST,
    ),
    ("two any rules in one class", text(rule(1, "any"), rule(2, "any", number=5)), ANY_NOT_LAST),
    (
        "archive any before an archive tagged rule",
        text(
            rule(1, "any", storage="archive", count_type=_ST),
            rule(2, "tagged", prefixes=["p"], storage="archive", count_type=_ST),
        ),
        ANY_NOT_LAST,
    ),
    (
        "two untagged rules",
        text(rule(1, "untagged"), rule(2, "untagged", count_type="sinceImagePushed")),
        "only one rule per storage class may select untagged images",
    ),
    (
        "the same prefix list twice",
        text(rule(1, "tagged", prefixes=["a", "b"]), rule(2, "tagged", prefixes=["b", "a"])),
        "rules 1 and 2 select the same tagPrefixList",
    ),
    (
        "the same pattern list twice",
        text(rule(1, "tagged", patterns=["p*"]), rule(7, "tagged", patterns=["p*"], number=3)),
        "rules 1 and 7 select the same tagPatternList",
    ),
]


@pytest.mark.parametrize(
    ("source", "message"), [(t, m) for _, t, m in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_policies_are_refused_naming_the_problem(source: str, message: str) -> None:
    with pytest.raises(LifecyclePolicyInvalid) as caught:
        parse_policy(source)
    assert message in str(caught.value)
    assert isinstance(caught.value, DockyardError)
    assert caught.value.describe() == caught.value.reason


def test_any_rule_message_is_ecrs_wording() -> None:
    assert ANY_NOT_LAST == "Rule for tagStatus=ANY must have the lowest priority per storage class"


def test_text_length_bounds_are_inclusive() -> None:
    with pytest.raises(LifecyclePolicyInvalid, match="characters long, not 99"):
        parse_policy("x" * 99)
    with pytest.raises(LifecyclePolicyInvalid, match="not valid JSON"):
        parse_policy("x" * 100)  # long enough; refused for what it says
    parse_policy(text(rule(1, "any")).ljust(30_720))


def test_parse_builds_the_frozen_model() -> None:
    parsed = policy(
        rule(2, "any", storage="archive", count_type="sinceImageTransitioned", number=365),
        rule(1, "any", count_type="sinceImagePulled", number=90, action="transition"),
    )
    first, second = parsed.rules
    assert first.priority == 1 and second.priority == 2
    assert first.description is None
    assert first.selection == Selection(
        TagStatus.ANY, (), (), StorageClass.STANDARD, CountType.SINCE_IMAGE_PULLED, "days", 90
    )
    assert first.action.type == "transition"
    assert first.action.target_storage_class == "archive"
    assert second.selection.storage_class == "archive"
    assert second.action.target_storage_class is None
    with pytest.raises(AttributeError):
        first.priority = 3  # type: ignore[misc]


def test_canonical_text_orders_rules_and_drops_defaults() -> None:
    source = text(
        rule(2, "untagged", storage="standard", description="two"),
        rule(1, "tagged", prefixes=["v"], number=3),
    )
    canonical = policy(
        rule(2, "untagged", storage="standard", description="two"),
        rule(1, "tagged", prefixes=["v"], number=3),
    ).to_json()
    assert canonical == (
        '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],'
        '"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},'
        '{"rulePriority":2,"description":"two","selection":{"tagStatus":"untagged",'
        '"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}'
    )
    assert len(canonical) <= len(source)


# --------------------------------------------------------------------------- tag matching


def test_tag_selection_semantics() -> None:
    prefixes = Selection(TagStatus.TAGGED, tag_prefixes=("alpha", "beta"))
    assert prefixes.matches_tags(["alpha-1", "beta-1"])
    assert prefixes.matches_tags(["betaalpha", "alphabeta"])
    assert not prefixes.matches_tags(["alpha-1"])
    assert not prefixes.matches_tags(["xalpha", "beta"])
    assert not prefixes.matches_tags([])
    patterns = Selection(TagStatus.TAGGED, tag_patterns=("*test*1*2*3",))
    assert patterns.matches_tags(["my-test-1-2-3"])
    assert patterns.matches_tags(["x", "test123"])
    assert not patterns.matches_tags(["test-1-2-3-"])
    exact = Selection(TagStatus.TAGGED, tag_patterns=("latest",))
    assert exact.matches_tags(["latest"]) and not exact.matches_tags(["latest1", "alatest"])
    assert Selection(TagStatus.UNTAGGED).matches_tags([])
    assert not Selection(TagStatus.UNTAGGED).matches_tags(["x"])
    assert Selection(TagStatus.ANY).matches_tags([]) and Selection(TagStatus.ANY).matches_tags(
        ["x"]
    )


def _naive_match(tag: str, pattern: str) -> bool:
    """The obvious translation (``*`` -> ``.*``): slow on some inputs, but a clear reference."""
    regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, tag, re.DOTALL) is not None


_TAG_CHARS = st.sampled_from("ab-1")
_tags_strategy = st.lists(st.text(_TAG_CHARS, min_size=1, max_size=8), max_size=3)


@given(
    tags=_tags_strategy,
    entries=st.lists(
        st.text(st.sampled_from("ab-1*"), min_size=1, max_size=7), min_size=1, max_size=3
    ),
)
def test_pattern_matching_agrees_with_the_wildcard_matcher(
    tags: list[str], entries: list[str]
) -> None:
    assume(all(e.count("*") <= 4 for e in entries))
    expected = all(any(_naive_match(t, e) for t in tags) for e in entries)
    assert Selection(TagStatus.TAGGED, tag_patterns=tuple(entries)).matches_tags(tags) is expected


@given(
    tags=_tags_strategy,
    entries=st.lists(st.text(_TAG_CHARS, min_size=1, max_size=3), min_size=1, max_size=3),
)
def test_prefix_matching_is_startswith_for_every_entry(tags: list[str], entries: list[str]) -> None:
    expected = all(any(t.startswith(e) for t in tags) for e in entries)
    assert Selection(TagStatus.TAGGED, tag_prefixes=tuple(entries)).matches_tags(tags) is expected


def test_pattern_matching_does_not_backtrack_without_bound() -> None:
    # The plain ".*" translation takes over a second per tag on this one.
    selection = Selection(TagStatus.TAGGED, tag_patterns=("*a*a*a*a*ab",))
    start = time.perf_counter()
    assert not selection.matches_tags(["a" * 126 + "bb"] * 20)
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------- the worked example

WORKED = [
    img("A", "beta-1", "prod-1", age=10),
    img("B", "beta-2", "prod-2", age=9),
    img("C", "beta-3", age=8),
]


def test_worked_example_prod_first_expires_only_a() -> None:
    rules = policy(
        rule(1, "tagged", patterns=["prod*"], number=1),
        rule(2, "tagged", patterns=["beta*"], number=1),
    )
    assert evaluate(rules, WORKED, NOW) == [Decision("A", ActionType.EXPIRE, 1, None)]


def test_worked_example_beta_first_expires_a_and_b() -> None:
    rules = policy(
        rule(1, "tagged", patterns=["beta*"], number=1),
        rule(2, "tagged", patterns=["prod*"], number=1),
    )
    assert evaluate(rules, WORKED, NOW) == [
        Decision("A", ActionType.EXPIRE, 1, None),
        Decision("B", ActionType.EXPIRE, 1, None),
    ]


def test_worked_example_with_prefix_lists_and_shuffled_input() -> None:
    rules = policy(
        rule(1, "tagged", prefixes=["prod"], number=1),
        rule(2, "tagged", prefixes=["beta"], number=1),
    )
    assert expired(evaluate(rules, WORKED[::-1], NOW)) == ["A"]


# --------------------------------------------------------------------------- guide examples


def test_keep_the_last_n_images() -> None:
    images = [img(f"d{i}", f"v{i}", age=10 - i) for i in range(6)]
    decisions = evaluate(policy(rule(1, "any", number=4)), images, NOW)
    assert expired(decisions) == ["d0", "d1"]  # oldest first
    assert all(d.rule_priority == 1 and d.target_storage_class is None for d in decisions)


def test_keep_one_untagged_image_leaves_tagged_ones_alone() -> None:
    images = [
        img("u1", age=30),
        img("t1", "v1", age=29),
        img("u2", age=2),
        img("u3", age=1),
    ]
    assert expired(evaluate(policy(rule(1, "untagged", number=1)), images, NOW)) == ["u1", "u2"]


def test_expire_untagged_older_than_14_days() -> None:
    images = [
        img("old", age=20),
        img("edge", age=14),  # exactly 14 days: not older than 14 days
        img("young", age=13.9),
        img("tagged-old", "v1", age=40),
        img("just-over", age=14.0001),
    ]
    rules = policy(rule(1, "untagged", count_type="sinceImagePushed", number=14))
    assert expired(evaluate(rules, images, NOW)) == ["old", "just-over"]


def test_prefix_rule_with_age() -> None:
    images = [
        img("p-old", "prod-1", age=20),
        img("p-new", "prod-2", age=3),
        img("x-old", "xprod-1", age=20),
        img("b-old", "beta-1", age=20),
    ]
    rules = policy(rule(1, "tagged", patterns=["prod*"], count_type="sinceImagePushed", number=14))
    assert expired(evaluate(rules, images, NOW)) == ["p-old"]


def test_several_tags_are_anded_and_tags_are_not_exclusive() -> None:
    images = [
        img("both", "alpha-1", "beta-1", age=10),
        img("alpha", "alpha-2", age=10),
        img("beta", "beta-2", age=10),
        img("both-new", "beta-3", "alpha-3", age=1),
    ]
    for rules in (
        policy(
            rule(1, "tagged", patterns=["alpha*", "beta*"], count_type="sinceImagePushed", number=5)
        ),
        policy(
            rule(1, "tagged", prefixes=["alpha", "beta"], count_type="sinceImagePushed", number=5)
        ),
    ):
        assert expired(evaluate(rules, images, NOW)) == ["both"]


def test_filtering_on_all_images_keeps_the_newest() -> None:
    images = [img("a", "v1", age=3), img("b", age=2), img("c", "latest", age=1)]
    assert expired(evaluate(policy(rule(1, "any", number=1)), images, NOW)) == ["a", "b"]


COMBINED = policy(
    rule(
        1,
        "any",
        count_type="sinceImagePulled",
        number=90,
        action="transition",
        description="Archive images not pulled in 90 days",
    ),
    rule(
        2,
        "any",
        storage="archive",
        count_type="sinceImageTransitioned",
        number=365,
        description="Delete images archived for more than 365 days",
    ),
)


def test_combined_archive_and_expire_example() -> None:
    images = [
        img("cold", "v1", age=400, pulled=120),
        img("warm", "v2", age=400, pulled=10),
        img("never-pulled-old", age=200),
        img("never-pulled-new", age=30),
        img("archived-long-ago", "v0", age=900, storage="archive", archived=500),
        img("archived-recently", "v3", age=900, storage="archive", archived=100),
    ]
    decisions = evaluate(COMBINED, images, NOW)
    assert decisions == [
        Decision("archived-long-ago", ActionType.EXPIRE, 2, None),
        Decision("cold", ActionType.TRANSITION, 1, StorageClass.ARCHIVE),
        Decision("never-pulled-old", ActionType.TRANSITION, 1, StorageClass.ARCHIVE),
    ]


def test_since_image_pulled_uses_pull_then_push_then_restore_time() -> None:
    images = [
        img("pulled-long-ago", age=300, pulled=100),
        img("pulled-lately", age=300, pulled=5),
        img("never-pulled", age=100),
        img("restored-lately", age=300, pulled=200, restored=10, archived=150),
        img("restored-long-ago", age=300, pulled=250, restored=95, archived=150),
        img("pulled-after-restore", age=300, pulled=3, restored=95, archived=150),
    ]
    rules = policy(rule(1, "any", count_type="sinceImagePulled", number=90, action="transition"))
    assert transitioned(evaluate(rules, images, NOW)) == [
        "pulled-long-ago",
        "restored-long-ago",
        "never-pulled",
    ]


def test_since_image_transitioned_expires_only_archived_images() -> None:
    images = [
        img("a-old", age=500, storage="archive", archived=200),
        img("a-new", age=500, storage="archive", archived=120),
        img("a-unknown", age=500, storage="archive"),
        img("standard", age=500, archived=200, restored=100),
        img("shouting", age=500, storage="ARCHIVE", archived=300),
    ]
    rules = policy(rule(1, "any", storage="archive", count_type=_ST, number=150))
    assert expired(evaluate(rules, images, NOW)) == ["a-old", "shouting"]


def test_storage_class_rules_see_only_their_class() -> None:
    images = [img(f"s{i}", age=i + 1) for i in range(3)] + [
        img(f"a{i}", age=i + 1, storage="archive", archived=200) for i in range(3)
    ]
    rules = policy(
        rule(1, "any", number=1, action="transition"),
        rule(2, "any", storage="archive", count_type=_ST, number=100),
    )
    decisions = evaluate(rules, images, NOW)
    assert transitioned(decisions) == ["s2", "s1"]  # the newest standard image stays
    assert expired(decisions) == ["a2", "a1", "a0"]


def test_higher_rule_selection_protects_even_what_it_kept() -> None:
    images = [
        img("prod-old", "prod-1", age=400),
        img("prod-new", "prod-2", age=300),
        img("dev-old", "dev-1", age=400),
        img("untagged-old", age=400),
    ]
    rules = policy(
        rule(1, "tagged", prefixes=["prod"], number=5),  # keeps both prod images
        rule(2, "any", count_type="sinceImagePushed", number=30),
    )
    decisions = evaluate(rules, images, NOW)
    assert expired(decisions) == ["dev-old", "untagged-old"]
    assert {d.rule_priority for d in decisions} == {2}


def test_a_rule_counts_images_a_higher_rule_marked() -> None:
    # Rule 1 expires x3; rule 2 keeps two x- images and counts x3 as one of them, so x1
    # goes (were x3 not counted, x2 and x1 would be the two kept).
    images = [
        img("x1", "x-1", age=40),
        img("x2", "x-2", age=30),
        img("x3", "x-3", "bad-3", age=20),
    ]
    rules = policy(
        rule(1, "tagged", prefixes=["bad"], count_type="sinceImagePushed", number=10),
        rule(2, "tagged", prefixes=["x-"], number=2),
    )
    decisions = evaluate(rules, images, NOW)
    assert [(d.digest, d.rule_priority) for d in decisions] == [("x1", 2), ("x3", 1)]


def test_decisions_come_oldest_first_and_ties_break_by_digest() -> None:
    images = [img("b", age=5), img("c", age=5), img("a", age=5), img("z", age=9)]
    decisions = evaluate(policy(rule(1, "any", number=1)), images, NOW)
    # Among equal push times the greater digest counts as newer, so "c" is kept.
    assert expired(decisions) == ["z", "a", "b"]


# --------------------------------------------------------------------------- guards


def test_an_index_child_is_not_expired_while_its_index_stays() -> None:
    images = [
        img("index", "v1", age=100),
        img("child-amd64", age=100, parents=("index",)),
        img("child-arm64", age=100, parents=("index",)),
        img("orphan", age=100),
    ]
    rules = policy(rule(1, "untagged", count_type="sinceImagePushed", number=14))
    assert expired(evaluate(rules, images, NOW)) == ["orphan"]


def test_children_of_an_index_expired_in_the_same_run_go_with_it() -> None:
    images = [
        img("index", "v1", age=100),
        img("child", age=100, parents=("index",)),
        img("shared", age=100, parents=("index", "other-index")),
        img("other-index", "v2", age=1),
        img("never-selected", "keep-me", age=100, parents=("index",)),
    ]
    rules = policy(
        rule(1, "untagged", count_type="sinceImagePushed", number=14),
        rule(2, "tagged", prefixes=["v"], count_type="sinceImagePushed", number=30),
    )
    decisions = evaluate(rules, images, NOW)
    # The child was chosen by rule 1 and held back only by the index, which rule 2 expires.
    assert [(d.digest, d.rule_priority) for d in decisions] == [("child", 1), ("index", 2)]


def test_a_parent_outside_the_evaluated_images_counts_as_alive() -> None:
    images = [img("child", age=100, parents=("sha256:unknown",))]
    rules = policy(rule(1, "untagged", count_type="sinceImagePushed", number=14))
    assert evaluate(rules, images, NOW) == []


def test_nested_indexes_release_level_by_level() -> None:
    images = [
        img("top", "v1", age=100),
        img("mid", age=100, parents=("top",)),
        img("leaf", age=100, parents=("mid",)),
    ]
    rules = policy(
        rule(1, "untagged", count_type="sinceImagePushed", number=14),
        rule(2, "any", count_type="sinceImagePushed", number=14),
    )
    assert [(d.digest, d.rule_priority) for d in evaluate(rules, images, NOW)] == [
        ("leaf", 1),
        ("mid", 1),
        ("top", 2),
    ]


def test_an_index_child_is_archived_only_with_its_index() -> None:
    images = [
        img("pulled-index", "v1", age=300, pulled=1),
        img("cold-child", age=300, parents=("pulled-index",)),
        img("cold-index", "v2", age=300),
        img("cold-child-2", age=300, parents=("cold-index",)),
        img("archived-index", "v3", age=300, storage="archive", archived=10),
        img("cold-child-3", age=300, parents=("archived-index",)),
    ]
    decisions = evaluate(COMBINED, images, NOW)
    assert transitioned(decisions) == ["cold-child-2", "cold-child-3", "cold-index"]


def test_referrers_follow_their_expired_subject() -> None:
    images = [
        img("old", "v1", age=100),
        img("sig", "sha256-old.sig", age=1, subject="old"),
        img("sbom", age=1, subject="old"),
        img("sig-of-sbom", age=1, subject="sbom"),
        img("new", "v2", age=2),
        img("sig-new", "sha256-new.sig", age=1, subject="new"),
    ]
    rules = policy(rule(1, "tagged", prefixes=["v"], count_type="sinceImagePushed", number=30))
    decisions = evaluate(rules, images, NOW)
    assert decisions == [
        Decision("old", ActionType.EXPIRE, 1, None),
        Decision("sbom", ActionType.EXPIRE, 1, None, follows="old"),
        Decision("sig", ActionType.EXPIRE, 1, None, follows="old"),
        Decision("sig-of-sbom", ActionType.EXPIRE, 1, None, follows="sbom"),
    ]


def test_a_referrer_due_for_archive_is_expired_with_its_subject() -> None:
    images = [
        img("old", "v1", age=100, pulled=1),
        img("sig", "sha256-old.sig", age=100, subject="old"),
    ]
    rules = policy(
        rule(
            1,
            "tagged",
            prefixes=["sha256-"],
            count_type="sinceImagePulled",
            number=30,
            action="transition",
        ),
        rule(2, "tagged", prefixes=["v"], count_type="sinceImagePushed", number=30),
    )
    assert evaluate(rules, images, NOW) == [
        Decision("old", ActionType.EXPIRE, 2, None),
        Decision("sig", ActionType.EXPIRE, 2, None, follows="old"),
    ]


def test_archived_less_than_90_days_ago_is_never_expired_by_lifecycle() -> None:
    images = [
        img("89", age=500, storage="archive", archived=89),
        img("90", age=500, storage="archive", archived=90),
        img("91", age=500, storage="archive", archived=91),
        img("subject", "v1", age=500),
        img("young-referrer", age=500, storage="archive", archived=10, subject="subject"),
    ]
    rules = policy(
        rule(1, "tagged", prefixes=["v"], count_type="sinceImagePushed", number=30),
        rule(2, "any", storage="archive", count_type=_ST, number=7),
    )
    assert expired(evaluate(rules, images, NOW)) == ["90", "91", "subject"]


def test_naive_datetimes_are_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    images = [
        LifecycleImage("naive", (), naive_now - timedelta(days=20)),
        LifecycleImage("aware", (), NOW - timedelta(days=21)),
    ]
    rules = policy(rule(1, "untagged", count_type="sinceImagePushed", number=14))
    assert expired(evaluate(rules, images, naive_now)) == ["aware", "naive"]


def test_huge_day_counts_select_nothing() -> None:
    rules = policy(rule(1, "untagged", count_type="sinceImagePushed", number=2**31 - 1))
    assert evaluate(rules, [img("x", age=10_000)], NOW) == []


def test_duplicate_digests_are_a_caller_error() -> None:
    with pytest.raises(ValueError, match="same digest"):
        evaluate(policy(rule(1, "any")), [img("x", age=1), img("x", age=2)], NOW)


# --------------------------------------------------------------------------- properties

DIGESTS = [f"sha256:{i:02d}" for i in range(14)]
TAG_POOL = ["prod-1", "prod-2", "beta-1", "beta-2", "alpha-1", "latest", "rc-1", "sha-abc"]
SET_POOL: list[tuple[str, tuple[str, ...]]] = [
    ("tagPrefixList", ("prod",)),
    ("tagPrefixList", ("beta",)),
    ("tagPrefixList", ("alpha", "beta")),
    ("tagPrefixList", ("rc-", "sha")),
    ("tagPatternList", ("prod*",)),
    ("tagPatternList", ("*-1",)),
    ("tagPatternList", ("*a*",)),
    ("tagPatternList", ("latest",)),
    ("tagPatternList", ("beta*", "*2")),
]


@st.composite
def image_sets(
    draw: st.DrawFn, referrers: bool = True, parents: bool = True
) -> list[LifecycleImage]:
    n = draw(st.integers(0, len(DIGESTS)))
    digests = DIGESTS[:n]
    images = []
    for digest in digests:
        archived = draw(st.booleans())
        archived_at = draw(st.one_of(st.none(), st.integers(0, 400)))
        pushed = draw(st.integers(0, 600))
        images.append(
            img(
                digest,
                *draw(st.lists(st.sampled_from(TAG_POOL), max_size=3, unique=True)),
                age=pushed + draw(st.sampled_from([0, 0.5])),
                pulled=draw(st.one_of(st.none(), st.integers(0, 600))),
                storage="archive" if archived else "standard",
                archived=archived_at,
                restored=draw(st.one_of(st.none(), st.integers(0, 300))),
                parents=tuple(
                    draw(
                        st.lists(
                            st.sampled_from([*digests, "sha256:gone"]), max_size=2, unique=True
                        )
                    )
                )
                if parents and digests
                else (),
                subject=draw(st.one_of(st.none(), st.sampled_from([*digests, "sha256:gone"])))
                if referrers and digests
                else None,
            )
        )
    return images


@st.composite
def standard_rule(
    draw: st.DrawFn, status: str, tag_set: tuple[str, tuple[str, ...]] | None
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": status}
    if tag_set is not None:
        selection[tag_set[0]] = list(tag_set[1])
    count = draw(st.sampled_from(["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"]))
    selection["countType"] = count
    if count != "imageCountMoreThan":
        selection["countUnit"] = "days"
    selection["countNumber"] = draw(st.integers(1, 200 if count != "imageCountMoreThan" else 6))
    if count == "sinceImagePulled" or draw(st.booleans()):
        action = {"type": "transition", "targetStorageClass": "archive"}
    else:
        action = {"type": "expire"}
    return {"selection": selection, "action": action}


@st.composite
def archive_rule(
    draw: st.DrawFn, status: str, tag_set: tuple[str, tuple[str, ...]] | None
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": status}
    if tag_set is not None:
        selection[tag_set[0]] = list(tag_set[1])
    selection.update(
        storageClass="archive",
        countType="sinceImageTransitioned",
        countUnit="days",
        countNumber=draw(st.integers(1, 400)),
    )
    return {"selection": selection, "action": {"type": "expire"}}


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    body: list[dict[str, Any]] = []
    last: list[dict[str, Any]] = []
    for make in (standard_rule, archive_rule):
        sets = draw(st.lists(st.sampled_from(SET_POOL), max_size=3, unique=True))
        body += [draw(make("tagged", s)) for s in sets]
        if draw(st.booleans()):
            body.append(draw(make("untagged", None)))
        if draw(st.booleans()):
            last.append(draw(make("any", None)))
    ordered = draw(st.permutations(body)) + draw(st.permutations(last))
    assume(ordered)
    gaps = draw(st.lists(st.integers(1, 3), min_size=len(ordered), max_size=len(ordered)))
    priority = 0
    for rule_doc, gap in zip(ordered, gaps, strict=True):
        priority += gap
        rule_doc["rulePriority"] = priority
    return parse_policy(text(*draw(st.permutations(ordered))))


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(policy_=policies(), images=image_sets())
def test_every_image_gets_at_most_one_decision(
    policy_: Policy, images: list[LifecycleImage]
) -> None:
    decisions = evaluate(policy_, images, NOW)
    digests = [d.digest for d in decisions]
    assert len(digests) == len(set(digests))
    assert set(digests) <= {i.digest for i in images}


@PROPERTY_SETTINGS
@given(policy_=policies(), images=image_sets(), seed=st.integers(0, 2**32))
def test_evaluation_is_deterministic_and_ignores_input_order(
    policy_: Policy, images: list[LifecycleImage], seed: int
) -> None:
    preview = evaluate(policy_, images, NOW)
    shuffled = list(images)
    random.Random(seed).shuffle(shuffled)
    run = evaluate(policy_, shuffled, NOW)
    assert run == preview
    assert evaluate(parse_policy(policy_.to_json()), tuple(images), NOW) == preview
    pushed = {i.digest: (i.pushed_at, i.digest) for i in images}
    assert [pushed[d.digest] for d in preview] == sorted(pushed[d.digest] for d in preview)


@PROPERTY_SETTINGS
@given(
    images=image_sets(referrers=False),
    status=st.sampled_from(["tagged", "untagged", "any"]),
    tag_set=st.sampled_from(SET_POOL),
    keep=st.integers(1, 6),
)
def test_count_rule_keeps_the_newest_n_it_selects(
    images: list[LifecycleImage], status: str, tag_set: tuple[str, tuple[str, ...]], keep: int
) -> None:
    """A policy whose only rule is ``imageCountMoreThan N`` (expire) over a selection, on
    images with no referrers: every expired image is a selected one past the N newest
    (newest by push time, ties by digest), so the N newest selected images all remain;
    with no index children among the images, exactly those past the N newest expire."""
    selection: dict[str, Any] = {"tagStatus": status}
    if status == "tagged":
        selection[tag_set[0]] = list(tag_set[1])
    selection.update(countType="imageCountMoreThan", countNumber=keep)
    only = parse_policy(
        text({"rulePriority": 1, "selection": selection, "action": {"type": "expire"}})
    )
    sel = only.rules[0].selection
    selected = sorted(
        (i for i in images if sel.selects(i)), key=lambda i: (i.pushed_at, i.digest), reverse=True
    )
    gone = set(expired(evaluate(only, images, NOW)))
    assert not gone & {i.digest for i in selected[:keep]}
    assert gone <= {i.digest for i in selected[keep:]}
    assert len(selected) - len(gone) >= min(keep, len(selected))
    if not any(i.parents for i in images):
        assert gone == {i.digest for i in selected[keep:]}


@PROPERTY_SETTINGS
@given(policy_=policies(), images=image_sets())
def test_no_image_with_a_live_parent_index_is_expired(
    policy_: Policy, images: list[LifecycleImage]
) -> None:
    decisions = evaluate(policy_, images, NOW)
    gone = set(expired(decisions))
    for image in images:
        if image.digest in gone:
            assert all(parent in gone for parent in image.parents)


@PROPERTY_SETTINGS
@given(policy_=policies(), images=image_sets())
def test_images_a_higher_rule_selects_are_never_acted_on_by_a_lower_rule(
    policy_: Policy, images: list[LifecycleImage]
) -> None:
    by_digest = {i.digest: i for i in images}
    decisions = evaluate(policy_, images, NOW)
    gone = set(expired(decisions))
    for decision in decisions:
        image = by_digest[decision.digest]
        if decision.follows is not None:  # a referrer going with its subject
            assert decision.follows in gone and image.subject == decision.follows
            continue
        acting = next(r for r in policy_.rules if r.priority == decision.rule_priority)
        assert acting.selection.selects(image)
        assert acting.action.type == decision.action
        for higher in policy_.rules:
            if higher.priority < decision.rule_priority:
                assert not higher.selection.selects(image)


@PROPERTY_SETTINGS
@given(policy_=policies(), images=image_sets())
def test_guards_and_actions_are_consistent(policy_: Policy, images: list[LifecycleImage]) -> None:
    by_digest = {i.digest: i for i in images}
    for decision in evaluate(policy_, images, NOW):
        image = by_digest[decision.digest]
        if decision.action is ActionType.TRANSITION:
            assert image.storage_class == "standard"
            assert decision.target_storage_class is StorageClass.ARCHIVE
        else:
            assert decision.target_storage_class is None
            if image.storage_class == "archive" and image.archived_at is not None:
                assert NOW - image.archived_at >= timedelta(days=90)


@given(policy_=policies())
@settings(deadline=None)
def test_canonical_text_round_trips(policy_: Policy) -> None:
    canonical = policy_.to_json()
    assert parse_policy(canonical) == policy_
    assert parse_policy(canonical).to_json() == canonical
