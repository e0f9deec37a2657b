"""Replication as ECR configures it: rules of destinations and repository filters, per
registry, and the status of each image at each destination.

A registry (account, region) holds one configuration: up to 10 rules (botocore's model),
each naming destinations and, optionally, PREFIX_MATCH repository filters. A repository
is replicated to every destination of every rule whose filters match its name (a rule
without filters matches every repository). ECR's prefix filter is a plain prefix of the
name: ``prod`` matches ``prod/app`` and ``production`` alike (unlike creation templates,
which stop at a ``/``).

A destination has a kind. Today the only kind is a registry of this deployment, named by
(account, region) as ECR names it; a destination outside the deployment (another
registry that speaks the OCI distribution API) is a kind of its own, with its own
identity, so statuses and jobs that name a destination by ``Destination.id`` need no
change to hold both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dockyard.domain.errors import ReplicationConfigurationInvalid
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope

PREFIX_MATCH = "PREFIX_MATCH"
# ECR's user guide: "up to 25 unique destinations across all rules". The per-list
# limits (10 rules, 100 destinations and 100 filters a rule) are botocore's model's and
# are checked with the rest of the model before a request reaches the registry.
MAX_UNIQUE_DESTINATIONS = 25


class DestinationKind(StrEnum):
    """Where a destination lives: a registry of this deployment (ECR's only kind)."""

    REGISTRY = "registry"


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
    kind: DestinationKind
    account_id: str
    region: str

    @classmethod
    def registry(cls, account_id: str, region: str) -> Destination:
        return cls(DestinationKind.REGISTRY, account_id, region)

    @property
    def id(self) -> str:
        """The destination's stable name in statuses and job payloads."""
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
class ReplicationRule:
    destinations: tuple[Destination, ...]
    filters: tuple[RepositoryFilter, ...] = ()

    def applies_to(self, name: RepositoryName) -> bool:
        return not self.filters or any(f.matches(name) for f in self.filters)


@dataclass(frozen=True, slots=True)
class ReplicationConfiguration:
    rules: tuple[ReplicationRule, ...] = ()

    def destinations_for(self, name: RepositoryName) -> list[Destination]:
        """Every destination ``name`` is replicated to, once each, in rule order."""
        found = (d for rule in self.rules if rule.applies_to(name) for d in rule.destinations)
        return list(dict.fromkeys(found))

    def all_destinations(self) -> list[Destination]:
        return list(dict.fromkeys(d for rule in self.rules for d in rule.destinations))

    def check(self, source: Scope, served: Iterable[str]) -> None:
        """Raise ReplicationConfigurationInvalid for what the model cannot say: a rule
        without a destination, a destination that is the source registry itself or a
        region this deployment does not serve, more unique destinations than ECR allows."""
        regions = frozenset(served)
        for number, rule in enumerate(self.rules, start=1):
            where = f"replicationConfiguration.rules.{number}"
            if not rule.destinations:
                raise ReplicationConfigurationInvalid(
                    f"{where}.destinations", "a rule must name at least one destination"
                )
            for destination in rule.destinations:
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
