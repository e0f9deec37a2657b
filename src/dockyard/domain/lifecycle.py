"""Lifecycle policies as ECR defines them: the document, its validation, and evaluation.

``parse_policy`` turns policy text into a frozen ``Policy`` or refuses it with
``LifecyclePolicyInvalid`` naming the problem. ``evaluate`` is a pure function of a
policy, the repository's images and the moment: the preview and the real run call it
with the same arguments and so agree image for image.

Evaluation (docs/lifecycle.md, "Applying the rules"):

- Every rule looks at the same starting set of images; rules are applied in priority
  order, lowest number first. A rule sees only images of its own storage class.
- A rule *selects* the images of its storage class whose tags fit its tag selection
  (``tagged`` with prefixes or patterns: every entry must match at least one tag;
  ``untagged``: no tag; ``any``: all). Its *candidates* are the selected images past
  the newest N (``imageCountMoreThan``, newest to oldest by push time) or older than N
  days (``sinceImagePushed`` / ``sinceImagePulled`` / ``sinceImageTransitioned``).
- Once a rule has selected an image, no rule of lower priority may act on it, whether or
  not the selecting rule acted on it. Counting still includes such images.
- Guards, for ``expire``: an image in the archive storage class archived less than 90
  days ago is never expired by lifecycle; an image referenced by an image index is not
  expired while the index survives the run. For ``transition``: an image referenced by
  an index is not archived while the index stays in the standard storage class.
- Referrers (``subject`` set) of an expired image are expired with it, attributed to the
  same rule priority (transitively), unless a guard above holds them.

Decisions this module takes beyond the spec (each deliberate):

- Protection is per storage class: "matches the tag selection of a rule" means the
  rule's storage class *and* tag selection, so a ``tagStatus=any`` standard rule does
  not stop an archive rule (the guide's combined archive-and-expire example needs this).
- Index children are resolved in the same run: a candidate held back only because its
  index is alive becomes expired (by the rule that chose it) when every index that
  references it is expired in the same run; likewise a transition goes ahead when every
  referencing index is expired, archived in this run, or already archived. A parent
  digest that is not among the evaluated images is treated as alive.
- A referrer following its subject overrides a transition the referrer was given by an
  earlier rule (it is expired instead); it does not override a guard.
- Ties in push time are broken by digest (the greater digest counts as newer), so the
  result never depends on the order of the input.
- Age comparisons are strict: "older than N days" means ``now - t > N days``. An
  archived image with no ``archived_at`` is never a ``sinceImageTransitioned``
  candidate. The 90-day guard only applies to images currently in the archive class.
- Naive datetimes are taken to be UTC.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, NoReturn, TypeVar

from dockyard.domain.errors import JsonInvalid, LifecyclePolicyInvalid
from dockyard.domain.jsontext import parse_json
from dockyard.domain.wildcards import glob_source

MIN_TEXT_LENGTH = 100
MAX_TEXT_LENGTH = 30_720
MAX_RULES = 50
MAX_WILDCARDS = 4
MAX_INTEGER = 2**31 - 1  # ECR's integers are 32-bit
ARCHIVE_MINIMUM = timedelta(days=90)
ANY_NOT_LAST = "Rule for tagStatus=ANY must have the lowest priority per storage class"


class TagStatus(StrEnum):
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    ANY = "any"


class StorageClass(StrEnum):
    STANDARD = "standard"
    ARCHIVE = "archive"


class CountType(StrEnum):
    IMAGE_COUNT_MORE_THAN = "imageCountMoreThan"
    SINCE_IMAGE_PUSHED = "sinceImagePushed"
    SINCE_IMAGE_PULLED = "sinceImagePulled"
    SINCE_IMAGE_TRANSITIONED = "sinceImageTransitioned"


class ActionType(StrEnum):
    EXPIRE = "expire"
    TRANSITION = "transition"


DAYS = "days"
_E = TypeVar("_E", bound=StrEnum)


# --------------------------------------------------------------------------- tag matching


@lru_cache(maxsize=1024)
def _entry_regex(entry: str, is_prefix: bool) -> re.Pattern[str]:
    source = "^" + re.escape(entry) if is_prefix else glob_source(entry)
    return re.compile(source, re.MULTILINE)


def join_tags(tags: Iterable[str]) -> str:
    """The form the matchers read: one tag a line (tags never hold a newline)."""
    return "\n".join(tags)


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True, slots=True)
class Selection:
    tag_status: TagStatus
    tag_prefixes: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    storage_class: StorageClass = StorageClass.STANDARD
    count_type: CountType = CountType.IMAGE_COUNT_MORE_THAN
    count_unit: str | None = None
    count_number: int = 1

    def _searches(self) -> tuple[Callable[[str], object], ...]:
        if self.tag_prefixes:
            return tuple(_entry_regex(p, True).search for p in self.tag_prefixes)
        return tuple(_entry_regex(p, False).search for p in self.tag_patterns)

    def matcher(self) -> Callable[[str], bool]:
        """A test on joined tags (see ``join_tags``) for this selection's tag part."""
        if self.tag_status is TagStatus.ANY:
            return lambda joined: True
        if self.tag_status is TagStatus.UNTAGGED:
            return lambda joined: not joined
        searches = self._searches()
        if len(searches) == 1:
            (search,) = searches
            return lambda joined: bool(joined) and search(joined) is not None
        return lambda joined: bool(joined) and all(s(joined) is not None for s in searches)

    def matches_tags(self, tags: Sequence[str]) -> bool:
        """Whether an image with these tags fits the tag selection (storage class aside)."""
        return self.matcher()(join_tags(tags))

    def selects(self, image: LifecycleImage) -> bool:
        """Whether a rule with this selection sees ``image``: storage class and tags."""
        return _storage_class(image) == self.storage_class and self.matches_tags(image.tags)

    def _tag_set(self) -> tuple[str, frozenset[str]]:
        if self.tag_prefixes:
            return "tagPrefixList", frozenset(self.tag_prefixes)
        return "tagPatternList", frozenset(self.tag_patterns)


@dataclass(frozen=True, slots=True)
class Action:
    type: ActionType
    target_storage_class: StorageClass | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    priority: int
    description: str | None
    selection: Selection
    action: Action

    def to_document(self) -> dict[str, Any]:
        selection: dict[str, Any] = {"tagStatus": self.selection.tag_status.value}
        if self.selection.tag_prefixes:
            selection["tagPrefixList"] = list(self.selection.tag_prefixes)
        if self.selection.tag_patterns:
            selection["tagPatternList"] = list(self.selection.tag_patterns)
        if self.selection.storage_class is not StorageClass.STANDARD:
            selection["storageClass"] = self.selection.storage_class.value
        selection["countType"] = self.selection.count_type.value
        if self.selection.count_unit is not None:
            selection["countUnit"] = self.selection.count_unit
        selection["countNumber"] = self.selection.count_number
        action: dict[str, Any] = {"type": self.action.type.value}
        if self.action.target_storage_class is not None:
            action["targetStorageClass"] = self.action.target_storage_class.value
        rule: dict[str, Any] = {"rulePriority": self.priority}
        if self.description is not None:
            rule["description"] = self.description
        rule["selection"] = selection
        rule["action"] = action
        return rule


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...]  # in priority order once parsed

    def to_json(self) -> str:
        """Canonical text: rules by priority, fixed key order, defaults left out, compact.

        For a parsed policy it is never longer than the text it came from (nor shorter
        than 100 characters), so it parses back to an equal policy.
        """
        rules = sorted(self.rules, key=lambda r: r.priority)
        document = {"rules": [rule.to_document() for rule in rules]}
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- parsing


def _fail(reason: str) -> NoReturn:
    raise LifecyclePolicyInvalid(reason)


def _object(value: object, where: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(f"{where} must be a JSON object")
    unexpected = sorted(key for key in value if key not in allowed)
    if unexpected:
        _fail(f"{where} has unexpected property {unexpected[0]!r}")
    return value


def _integer(value: object, where: str) -> int:
    if type(value) is not int:
        _fail(f"{where} must be an integer, not {json.dumps(value)}")
    if not 1 <= value <= MAX_INTEGER:
        _fail(f"{where} must be between 1 and {MAX_INTEGER}, not {value}")
    return value


def _choice(value: object, kind: type[_E], where: str) -> _E:
    allowed = [member.value for member in kind]
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        _fail(f"{where} must be one of {names}, not {json.dumps(value)}")
    return kind(value)


def _tag_list(value: object, where: str, patterns: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        _fail(f"{where} must be a non-empty list of strings")
    for entry in value:
        if not isinstance(entry, str) or not entry:
            _fail(f"{where} must hold non-empty strings, not {json.dumps(entry)}")
        if patterns and entry.count("*") > MAX_WILDCARDS:
            _fail(f"{where} entry {entry!r} has more than {MAX_WILDCARDS} wildcards (*)")
    return tuple(value)


_TOP_KEYS = frozenset({"rules"})
_RULE_KEYS = frozenset({"rulePriority", "description", "selection", "action"})
_SELECTION_KEYS = frozenset(
    {
        "tagStatus",
        "tagPrefixList",
        "tagPatternList",
        "storageClass",
        "countType",
        "countUnit",
        "countNumber",
    }
)
_ACTION_KEYS = frozenset({"type", "targetStorageClass"})


def _parse_selection(value: object, where: str) -> Selection:
    doc = _object(value, where, _SELECTION_KEYS)
    if "tagStatus" not in doc:
        _fail(f"{where}.tagStatus is required")
    status = _choice(doc["tagStatus"], TagStatus, f"{where}.tagStatus")
    has_prefixes, has_patterns = "tagPrefixList" in doc, "tagPatternList" in doc
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    if status is TagStatus.TAGGED:
        if has_prefixes and has_patterns:
            _fail(f"{where}: tagPrefixList and tagPatternList cannot both be specified")
        if not (has_prefixes or has_patterns):
            _fail(f"{where}: tagStatus 'tagged' requires tagPrefixList or tagPatternList")
        if has_prefixes:
            prefixes = _tag_list(doc["tagPrefixList"], f"{where}.tagPrefixList", False)
        else:
            patterns = _tag_list(doc["tagPatternList"], f"{where}.tagPatternList", True)
    elif has_prefixes or has_patterns:
        which = "tagPrefixList" if has_prefixes else "tagPatternList"
        _fail(f"{where}: {which} is only allowed when tagStatus is 'tagged', not {status.value!r}")
    storage = StorageClass.STANDARD
    if "storageClass" in doc:
        storage = _choice(doc["storageClass"], StorageClass, f"{where}.storageClass")
    if "countType" not in doc:
        _fail(f"{where}.countType is required")
    count_type = _choice(doc["countType"], CountType, f"{where}.countType")
    if "countNumber" not in doc:
        _fail(f"{where}.countNumber is required")
    count_number = _integer(doc["countNumber"], f"{where}.countNumber")
    unit: str | None = None
    if count_type is CountType.IMAGE_COUNT_MORE_THAN:
        if "countUnit" in doc:
            _fail(f"{where}.countUnit is not allowed with countType 'imageCountMoreThan'")
    else:
        if "countUnit" not in doc:
            _fail(f"{where}.countUnit is required with countType {count_type.value!r}")
        if doc["countUnit"] != DAYS:
            _fail(f"{where}.countUnit must be 'days', not {json.dumps(doc['countUnit'])}")
        unit = DAYS
    return Selection(status, prefixes, patterns, storage, count_type, unit, count_number)


def _parse_action(value: object, where: str) -> Action:
    doc = _object(value, where, _ACTION_KEYS)
    if "type" not in doc:
        _fail(f"{where}.type is required")
    kind = _choice(doc["type"], ActionType, f"{where}.type")
    if kind is ActionType.EXPIRE:
        if "targetStorageClass" in doc:
            _fail(f"{where}.targetStorageClass is only allowed with action type 'transition'")
        return Action(kind)
    if "targetStorageClass" not in doc:
        _fail(f"{where}.targetStorageClass is required with action type 'transition'")
    if doc["targetStorageClass"] != StorageClass.ARCHIVE.value:
        got = json.dumps(doc["targetStorageClass"])
        _fail(f"{where}.targetStorageClass must be 'archive', not {got}")
    return Action(kind, StorageClass.ARCHIVE)


def _check_combination(selection: Selection, action: Action, where: str) -> None:
    count, storage = selection.count_type, selection.storage_class
    if count is CountType.SINCE_IMAGE_PULLED and action.type is not ActionType.TRANSITION:
        _fail(f"{where}: countType 'sinceImagePulled' is only allowed with action 'transition'")
    if count is CountType.SINCE_IMAGE_TRANSITIONED:
        if action.type is not ActionType.EXPIRE:
            _fail(
                f"{where}: countType 'sinceImageTransitioned' is only allowed with action 'expire'"
            )
        if storage is not StorageClass.ARCHIVE:
            _fail(f"{where}: countType 'sinceImageTransitioned' requires storageClass 'archive'")
    elif storage is not StorageClass.STANDARD:
        _fail(
            f"{where}: storageClass 'archive' is only allowed with countType "
            f"'sinceImageTransitioned', not {count.value!r}"
        )


def _parse_rule(value: object, where: str) -> Rule:
    doc = _object(value, where, _RULE_KEYS)
    for key in ("rulePriority", "selection", "action"):
        if key not in doc:
            _fail(f"{where}.{key} is required")
    priority = _integer(doc["rulePriority"], f"{where}.rulePriority")
    description = doc.get("description")
    if "description" in doc and not isinstance(description, str):
        _fail(f"{where}.description must be a string")
    selection = _parse_selection(doc["selection"], f"{where}.selection")
    action = _parse_action(doc["action"], f"{where}.action")
    _check_combination(selection, action, where)
    return Rule(priority, description, selection, action)


def _check_rules(rules: Sequence[Rule]) -> None:
    seen: dict[int, Rule] = {}
    for rule in rules:
        if rule.priority in seen:
            _fail(f"rulePriority {rule.priority} is used by more than one rule")
        seen[rule.priority] = rule
    for storage in StorageClass:
        in_class = [r for r in rules if r.selection.storage_class is storage]
        if not in_class:
            continue
        last = max(r.priority for r in in_class)
        for rule in in_class:
            if rule.selection.tag_status is TagStatus.ANY and rule.priority != last:
                _fail(ANY_NOT_LAST)
        untagged = [r.priority for r in in_class if r.selection.tag_status is TagStatus.UNTAGGED]
        if len(untagged) > 1:
            _fail(
                f"only one rule per storage class may select untagged images; rules "
                f"{untagged[0]} and {untagged[1]} both do for storageClass {storage.value!r}"
            )
        tag_sets: dict[tuple[str, frozenset[str]], int] = {}
        for rule in in_class:
            if rule.selection.tag_status is not TagStatus.TAGGED:
                continue
            key = rule.selection._tag_set()
            if key in tag_sets:
                _fail(
                    f"rules {tag_sets[key]} and {rule.priority} select the same {key[0]} "
                    f"for storageClass {storage.value!r}; each rule needs a distinct set"
                )
            tag_sets[key] = rule.priority


def parse_policy(text: str) -> Policy:
    """Parse and validate policy text; ``LifecyclePolicyInvalid`` where ECR would refuse it."""
    if not isinstance(text, str):
        _fail("lifecycle policy text must be a string")
    if not MIN_TEXT_LENGTH <= len(text) <= MAX_TEXT_LENGTH:
        _fail(
            f"lifecycle policy text must be {MIN_TEXT_LENGTH} to {MAX_TEXT_LENGTH} characters "
            f"long, not {len(text)}"
        )
    try:
        document = parse_json(text)
    except JsonInvalid as exc:
        _fail(f"lifecycle policy text is not valid JSON: {exc.reason}")
    top = _object(document, "the lifecycle policy", _TOP_KEYS)
    if "rules" not in top:
        _fail("the lifecycle policy must have 'rules'")
    raw_rules = top["rules"]
    if not isinstance(raw_rules, list):
        _fail("rules must be a list")
    if not 1 <= len(raw_rules) <= MAX_RULES:
        _fail(f"rules must hold 1 to {MAX_RULES} rules, not {len(raw_rules)}")
    rules = [_parse_rule(raw, f"rules[{i}]") for i, raw in enumerate(raw_rules)]
    _check_rules(rules)
    return Policy(tuple(sorted(rules, key=lambda r: r.priority)))


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class LifecycleImage:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    last_pulled_at: datetime | None = None
    storage_class: str = "standard"  # "standard" | "archive" (any case)
    archived_at: datetime | None = None
    restored_at: datetime | None = None
    parents: tuple[str, ...] = ()  # digests of the image indexes that reference this image
    subject: str | None = None  # for a referrer: the digest of the image it refers to


@dataclass(frozen=True, slots=True)
class Decision:
    digest: str
    action: ActionType
    rule_priority: int
    target_storage_class: StorageClass | None  # ARCHIVE for a transition, None for expire
    follows: str | None = None  # for a referrer expired with its subject: that subject


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _storage_class(image: LifecycleImage) -> str:
    return image.storage_class.lower()


def _cutoff(now: datetime, days: int) -> datetime | None:
    """``now - days``; None when that lies before the calendar starts (nothing is older)."""
    try:
        return now - timedelta(days=days)
    except OverflowError:
        return None


_NONE, _TRANSITION, _EXPIRE = 0, 1, 2


class _Run:
    """One evaluation: the images in canonical order (oldest push first) and their fates."""

    def __init__(self, images: Sequence[LifecycleImage], now: datetime) -> None:
        self.now = _aware(now)
        pushed = [_aware(image.pushed_at) for image in images]
        order = sorted(range(len(images)), key=lambda i: images[i].digest)
        order.sort(key=pushed.__getitem__)  # stable: ties keep digest order
        self.images = [images[i] for i in order]
        self.pushed = [pushed[i] for i in order]
        self.digests = [image.digest for image in self.images]
        self.position = {digest: i for i, digest in enumerate(self.digests)}
        if len(self.position) != len(self.digests):
            raise ValueError("evaluate: the same digest appears twice among the images")
        self.storage = [_storage_class(image) for image in self.images]
        self.state = [_NONE] * len(self.images)
        self.priority = [0] * len(self.images)
        self.follows: dict[int, str] = {}
        self.deferred: dict[int, tuple[int, int, str | None]] = {}
        self._joined: list[str] | None = None
        guard_cutoff = _cutoff(self.now, ARCHIVE_MINIMUM.days)
        self.young_archive = [
            storage == StorageClass.ARCHIVE
            and image.archived_at is not None
            and (guard_cutoff is None or _aware(image.archived_at) > guard_cutoff)
            for image, storage in zip(self.images, self.storage, strict=True)
        ]

    @property
    def joined(self) -> list[str]:
        if self._joined is None:
            self._joined = [join_tags(image.tags) for image in self.images]
        return self._joined

    def newest_first(self, storage: str) -> list[int]:
        return [i for i in reversed(range(len(self.images))) if self.storage[i] == storage]

    def pull_reference(self, i: int) -> datetime:
        image = self.images[i]
        moment = self.pushed[i] if image.last_pulled_at is None else _aware(image.last_pulled_at)
        if image.restored_at is not None and _aware(image.restored_at) > moment:
            moment = _aware(image.restored_at)
        return moment

    def parents_allow(self, i: int, action: int) -> bool:
        for parent in self.images[i].parents:
            j = self.position.get(parent)
            if j is None:
                return False  # an index we cannot see is taken to be alive
            if self.state[j] == _EXPIRE:
                continue
            if action == _TRANSITION and (
                self.state[j] == _TRANSITION or self.storage[j] == StorageClass.ARCHIVE
            ):
                continue
            return False
        return True

    def decide(self, i: int, action: int, priority: int, follows: str | None) -> None:
        self.state[i], self.priority[i] = action, priority
        if follows is not None:
            self.follows[i] = follows
        else:
            self.follows.pop(i, None)

    def offer(self, i: int, action: int, priority: int, follows: str | None = None) -> bool:
        """Act on ``i`` unless a guard holds it; True when the decision was taken now."""
        if action == _EXPIRE and self.young_archive[i]:
            return False
        if self.images[i].parents and not self.parents_allow(i, action):
            self.deferred[i] = (action, priority, follows)
            return False
        self.deferred.pop(i, None)
        self.decide(i, action, priority, follows)
        return True


def _candidates(run: _Run, rule: Rule, selected: list[int]) -> list[int]:
    selection = rule.selection
    count = selection.count_number
    if selection.count_type is CountType.IMAGE_COUNT_MORE_THAN:
        return selected[count:]
    cutoff = _cutoff(run.now, count)
    if cutoff is None:
        return []
    if selection.count_type is CountType.SINCE_IMAGE_PUSHED:
        pushed = run.pushed
        return [i for i in selected if pushed[i] < cutoff]
    if selection.count_type is CountType.SINCE_IMAGE_PULLED:
        return [i for i in selected if run.pull_reference(i) < cutoff]
    found = []
    for i in selected:
        archived_at = run.images[i].archived_at
        if archived_at is not None and _aware(archived_at) < cutoff:
            found.append(i)
    return found


def _select(run: _Run, selection: Selection, bucket: list[int]) -> list[int]:
    if selection.tag_status is TagStatus.ANY:
        return bucket
    if selection.tag_status is TagStatus.UNTAGGED:
        images = run.images
        return [i for i in bucket if not images[i].tags]
    joined = run.joined
    searches = selection._searches()
    # An untagged image joins to "", which a lone "*" would otherwise match.
    if len(searches) == 1:
        (search,) = searches
        return [i for i in bucket if joined[i] and search(joined[i]) is not None]
    return [i for i in bucket if joined[i] and all(s(joined[i]) is not None for s in searches)]


def evaluate(policy: Policy, images: Sequence[LifecycleImage], now: datetime) -> list[Decision]:
    """What ``policy`` does to ``images`` at ``now``: one decision per image acted on.

    Decisions come oldest push first (ties by digest), the order expiry proceeds in.
    """
    run = _Run(images, now)
    buckets: dict[str, list[int]] = {}
    claimed = bytearray(len(run.images))  # selected by a rule already applied
    for rule in sorted(policy.rules, key=lambda r: r.priority):
        storage = rule.selection.storage_class.value
        if storage not in buckets:
            buckets[storage] = run.newest_first(storage)
        selected = _select(run, rule.selection, buckets[storage])
        action = _EXPIRE if rule.action.type is ActionType.EXPIRE else _TRANSITION
        for i in _candidates(run, rule, selected):
            if not claimed[i]:
                run.offer(i, action, rule.priority)
        for i in selected:
            claimed[i] = 1
    _settle(run)
    transition = ActionType.TRANSITION
    return [
        Decision(
            run.digests[i],
            ActionType.EXPIRE if state == _EXPIRE else transition,
            run.priority[i],
            None if state == _EXPIRE else StorageClass.ARCHIVE,
            run.follows.get(i),
        )
        for i, state in enumerate(run.state)
        if state != _NONE
    ]


def _settle(run: _Run) -> None:
    """Release index children whose indexes went in this run; expire referrers with subjects."""
    children: dict[str, list[int]] = {}
    referrers: dict[str, list[int]] = {}
    for i, image in enumerate(run.images):
        for parent in image.parents:
            children.setdefault(parent, []).append(i)
        if image.subject is not None:
            referrers.setdefault(image.subject, []).append(i)
    if not children and not referrers:
        return
    linked = children.keys() | referrers.keys()
    queue = deque(
        i for i, state in enumerate(run.state) if state != _NONE and run.digests[i] in linked
    )
    while queue:
        j = queue.popleft()
        digest = run.digests[j]
        for child in children.get(digest, ()):
            pending = run.deferred.get(child)
            if pending is not None and run.parents_allow(child, pending[0]):
                del run.deferred[child]
                run.decide(child, *pending)
                queue.append(child)
        if run.state[j] != _EXPIRE:
            continue
        for referrer in referrers.get(digest, ()):
            if run.state[referrer] == _EXPIRE:
                continue
            if run.offer(referrer, _EXPIRE, run.priority[j], follows=digest):
                queue.append(referrer)
