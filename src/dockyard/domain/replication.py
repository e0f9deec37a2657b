"""Replication as ECR configures it: rules of destinations and repository filters, per
registry, and the status of each image at each destination.

A registry (account, region) holds one configuration: up to 10 rules (botocore's model),
each naming destinations and, optionally, PREFIX_MATCH repository filters. A repository
is replicated to every destination of every rule whose filters match its name (a rule
without filters matches every repository). ECR's prefix filter is a plain prefix of the
name: ``prod`` matches ``prod/app`` and ``production`` alike (unlike creation templates,
which stop at a ``/``).

A destination has a kind: a registry of this deployment, named by (account, region) as
ECR names it, or an external registry (another registry that speaks the OCI distribution
API), named by the name it was registered under in the source registry
(``external.py``). Statuses and jobs name a destination by ``Destination.id``, whatever
its kind.

Beyond ECR, a rule may also carry ``imageTagFilters`` (WILDCARD patterns over tags, as
ECR's tag-mutability exclusions are written): the rule then covers only images with a
tag that matches one, and replicates only the tags that match. And ``propagateDeletes``:
an image deleted at the source is deleted at the rule's destinations, where replication
created it (``services/propagation.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dockyard.domain.errors import ReplicationConfigurationInvalid
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope
from dockyard.domain.wildcards import matches

PREFIX_MATCH = "PREFIX_MATCH"
WILDCARD = "WILDCARD"
# A tag filter is written as ECR writes tag-mutability exclusion filters (its WILDCARD
# filter type): letters, digits, ``._-`` and ``*``, 1 to 128 characters.
_TAG_FILTER = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")
MAX_TAG_FILTERS = 100
# ECR's user guide: "up to 25 unique destinations across all rules". The per-list
# limits (10 rules, 100 destinations and 100 filters a rule) are botocore's model's and
# are checked with the rest of the model before a request reaches the registry.
MAX_UNIQUE_DESTINATIONS = 25


class DestinationKind(StrEnum):
    """Where a destination lives: a registry of this deployment (ECR's only kind), or a
    registry outside it, registered in the source registry under a name."""

    REGISTRY = "registry"
    EXTERNAL = "external"


class ReplicationStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class FailureCode(StrEnum):
    """``failureCode`` of a FAILED replication. ECR leaves the values unlisted (the model
    types it as a string); the first is the one ECR reports for a refused cross-account
    replication, the others are Dockyard's, each for one cause a rerun would not cure."""

    ACCESS_DENIED = "DESTINATION_REGISTRY_ACCESS_DENIED"
    TAG_IMMUTABLE = "IMAGE_TAG_IMMUTABLE"
    SOURCE_IMAGE_NOT_FOUND = "SOURCE_IMAGE_NOT_FOUND"
    BACKFILL_STOPPED = "BACKFILL_STOPPED"
    ERROR = "REPLICATION_ERROR"


@dataclass(frozen=True, slots=True)
class Destination:
    """A registry of the deployment (``account_id``, ``region``), or an external registry:
    ``name`` as registered in the registry ``account_id``, ``region`` (the source's)."""

    kind: DestinationKind
    account_id: str
    region: str
    name: str | None = None

    @classmethod
    def registry(cls, account_id: str, region: str) -> Destination:
        return cls(DestinationKind.REGISTRY, account_id, region)

    @classmethod
    def external(cls, owner: Scope, name: str) -> Destination:
        return cls(DestinationKind.EXTERNAL, owner.account_id, owner.region, name)

    @classmethod
    def of_id(cls, text: str) -> Destination:
        """The destination whose ``id`` is ``text``."""
        kind, account_id, region, *name = text.split(":", 3)
        return cls(DestinationKind(kind), account_id, region, name[0] if name else None)

    @property
    def is_external(self) -> bool:
        return self.kind is DestinationKind.EXTERNAL

    @property
    def id(self) -> str:
        """The destination's stable name in statuses and job payloads."""
        if self.is_external:
            return f"{self.kind.value}:{self.account_id}:{self.region}:{self.name}"
        return f"{self.kind.value}:{self.account_id}:{self.region}"

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.region)


@dataclass(frozen=True, slots=True)
class RepositoryFilter:
    value: str
    kind: str = PREFIX_MATCH

    def matches(self, name: RepositoryName) -> bool:
        return name.value.startswith(self.value)


@dataclass(frozen=True, slots=True)
class TagFilter:
    """A WILDCARD filter over tags: ``*`` matches any run of characters, even none."""

    value: str
    kind: str = WILDCARD

    def matches(self, tag: str) -> bool:
        return matches(tag, self.value)


@dataclass(frozen=True, slots=True)
class ReplicationRule:
    destinations: tuple[Destination, ...]
    filters: tuple[RepositoryFilter, ...] = ()
    tag_filters: tuple[TagFilter, ...] = ()  # none: every image, every tag
    propagate_deletes: bool = False

    def applies_to(self, name: RepositoryName) -> bool:
        return not self.filters or any(f.matches(name) for f in self.filters)

    def covers(self, name: RepositoryName, tags: Sequence[str]) -> bool:
        """Whether an image of ``name`` with ``tags`` is replicated by this rule."""
        return self.applies_to(name) and (
            not self.tag_filters or any(self.tag_matches(t) for t in tags)
        )

    def tag_matches(self, tag: str) -> bool:
        return not self.tag_filters or any(f.matches(tag) for f in self.tag_filters)


@dataclass(frozen=True, slots=True)
class ReplicationConfiguration:
    rules: tuple[ReplicationRule, ...] = ()

    def destinations_for(self, name: RepositoryName) -> list[Destination]:
        """Every destination ``name`` is replicated to, once each, in rule order (some
        perhaps only for images with certain tags: ``targets``)."""
        found = (d for rule in self.rules if rule.applies_to(name) for d in rule.destinations)
        return list(dict.fromkeys(found))

    @property
    def filters_tags(self) -> bool:
        return any(rule.tag_filters for rule in self.rules)

    def targets(self, name: RepositoryName, tags: Sequence[str]) -> list[Destination]:
        """Every destination an image of ``name`` with ``tags`` is replicated to."""
        found = (d for rule in self.rules if rule.covers(name, tags) for d in rule.destinations)
        return list(dict.fromkeys(found))

    def tags_for(
        self, name: RepositoryName, destination: Destination, tags: Sequence[str]
    ) -> list[str]:
        """Of an image's ``tags``, those replicated to ``destination``: the ones a rule
        covering both lets through (all, when no rule names the destination any more: a
        retry of an older replication)."""
        rules = [r for r in self.rules if r.applies_to(name) and destination in r.destinations]
        if not rules:
            return list(tags)
        return [t for t in tags if any(r.tag_matches(t) for r in rules)]

    def propagates_deletes(self, name: RepositoryName, destination: Destination) -> bool:
        """Whether a rule covering ``name`` and naming ``destination`` asks for deletes at
        the source to be made at the destination too (one such rule is enough: opt-in)."""
        return any(
            r.propagate_deletes and r.applies_to(name) and destination in r.destinations
            for r in self.rules
        )

    def all_destinations(self) -> list[Destination]:
        return list(dict.fromkeys(d for rule in self.rules for d in rule.destinations))

    def check(self, source: Scope, served: Iterable[str]) -> None:
        """Raise ReplicationConfigurationInvalid for what the model cannot say: a rule
        without a destination, a destination that is the source registry itself or a
        region this deployment does not serve, more unique destinations than ECR allows,
        a tag filter that is no WILDCARD pattern. (Whether an external destination's
        name is registered is the service's question.)"""
        regions = frozenset(served)
        for number, rule in enumerate(self.rules, start=1):
            where = f"replicationConfiguration.rules.{number}"
            if not rule.destinations:
                raise ReplicationConfigurationInvalid(
                    f"{where}.destinations", "a rule must name at least one destination"
                )
            _check_tag_filters(f"{where}.imageTagFilters", rule.tag_filters)
            for destination in rule.destinations:
                if destination.is_external:
                    continue
                if destination.scope == source:
                    raise ReplicationConfigurationInvalid(
                        f"{where}.destinations",
                        "a destination cannot be the source registry "
                        f"(registryId {source.account_id}, region {source.region})",
                    )
                if destination.region not in regions:
                    raise ReplicationConfigurationInvalid(
                        f"{where}.destinations",
                        f"region '{destination.region}' is not served by this registry",
                    )
            for value in rule.filters:
                if value.kind != PREFIX_MATCH:
                    raise ReplicationConfigurationInvalid(
                        f"{where}.repositoryFilters", "the only filter type is PREFIX_MATCH"
                    )
        unique = self.all_destinations()
        if len(unique) > MAX_UNIQUE_DESTINATIONS:
            raise ReplicationConfigurationInvalid(
                "replicationConfiguration",
                f"at most {MAX_UNIQUE_DESTINATIONS} unique destinations across all rules "
                f"(got {len(unique)})",
            )


def _check_tag_filters(where: str, filters: Sequence[TagFilter]) -> None:
    if len(filters) > MAX_TAG_FILTERS:
        raise ReplicationConfigurationInvalid(
            where, f"at most {MAX_TAG_FILTERS} tag filters a rule (got {len(filters)})"
        )
    for value in filters:
        if value.kind != WILDCARD:
            raise ReplicationConfigurationInvalid(
                where, f"the only tag filter type is {WILDCARD} (got '{value.kind[:64]}')"
            )
        if not _TAG_FILTER.match(value.value):
            raise ReplicationConfigurationInvalid(
                where,
                f"'{value.value[:200]}' is no tag pattern: 1 to 128 of letters, digits, "
                "'.', '_', '-' and '*'",
            )


@dataclass(frozen=True, slots=True)
class ImageReplication:
    """The replication of one image to one destination, as last recorded."""

    destination: Destination
    status: ReplicationStatus
    failure_code: str | None
    last_error: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


class BackfillStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    STOPPED = "STOPPED"


@dataclass(frozen=True, slots=True)
class Backfill:
    """A replication of images pushed before the rules that now cover them (a Dockyard
    extension of ECR's API: ECR replicates only what is pushed after a rule exists)."""

    id: str
    scope: Scope
    repository: RepositoryName | None
    filters: tuple[RepositoryFilter, ...]
    status: BackfillStatus
    created_at: datetime
    finished_at: datetime | None
    queued: int  # replications (image x destination) queued so far
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class BackfillItem:
    repository: RepositoryName
    digest: str
    destination: Destination
    status: ReplicationStatus
    failure_code: str | None
