"""Repository creation templates: the settings a repository gets when the registry creates
it on someone's behalf (a push to a missing repository, replication, pull-through cache).

A template is named by its prefix, a repository-name prefix at a path boundary: ECR
always assumes a ``/`` after it, so ``prod`` applies to ``prod/app`` and ``prod/team/app``
but neither to ``prod`` itself nor to ``production/app``. A trailing ``/`` in the prefix
(which botocore's pattern allows) names the same template. ``ROOT`` applies to every name
that no other template of the same use applies to. Of the templates of one use that
apply, the one with the longest prefix wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dockyard.domain.immutability import MutabilityRule
from dockyard.domain.names import RepositoryName

ROOT = "ROOT"


class AppliedFor(StrEnum):
    """What a template is used for (ECR's ``RCTAppliedFor``)."""

    REPLICATION = "REPLICATION"
    PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
    CREATE_ON_PUSH = "CREATE_ON_PUSH"


def normalize_prefix(text: str) -> str:
    """The stored form of a prefix: without the trailing ``/`` ECR assumes anyway."""
    return text if text == ROOT else text.rstrip("/")


def applies_to(prefix: str, name: RepositoryName) -> bool:
    """Whether a template of ``prefix`` (normalized) covers the repository ``name``."""
    return prefix == ROOT or name.value.startswith(prefix + "/")


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """What a template gives the repositories made from it, and what it is for."""

    applied_for: tuple[AppliedFor, ...]
    description: str | None = None
    mutability: MutabilityRule = field(default_factory=MutabilityRule)
    encryption_type: str = "AES256"
    kms_key: str | None = None
    resource_tags: dict[str, str] = field(default_factory=dict)
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    # Kept and reported only: Dockyard assumes no role to create repositories.
    custom_role_arn: str | None = None


@dataclass(frozen=True, slots=True)
class CreationTemplate:
    prefix: str
    settings: TemplateSettings
    created_at: datetime
    updated_at: datetime


def best_template(
    templates: Iterable[CreationTemplate], name: RepositoryName, use: AppliedFor
) -> CreationTemplate | None:
    """The template that decides how ``name`` is created for ``use``: the longest prefix
    that applies among the templates for that use, ``ROOT`` only when none does."""
    candidates = [t for t in templates if use in t.settings.applied_for]
    named = [t for t in candidates if t.prefix != ROOT and applies_to(t.prefix, name)]
    if named:
        return max(named, key=lambda t: len(t.prefix))
    return next((t for t in candidates if t.prefix == ROOT), None)
