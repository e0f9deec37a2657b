"""Repository creation templates: kept, checked, and applied when the registry creates a
repository on someone's behalf.

Everything a template carries is checked when it is stored, as the operation that sets
that setting on a repository would check it (mutability and encryption as CreateRepository,
tags as TagResource, the lifecycle policy as PutLifecyclePolicy, the repository policy as
SetRepositoryPolicy), so that creating a repository from it later cannot fail on its
settings. ``create_repository_from_template`` is the one door for every use: create on
push today, replication and pull-through cache when they come.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from dockyard.domain.errors import RepositoryAlreadyExists, TemplateInvalid
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.lifecycle import parse_policy as parse_lifecycle_policy
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Repository, RepositoryConfig, RepositoryKey, Scope
from dockyard.domain.templates import (
    ROOT,
    AppliedFor,
    CreationTemplate,
    TemplateSettings,
    best_template,
    normalize_prefix,
)
from dockyard.metadata.templates import TemplateStore
from dockyard.services.policies import check_policy_text
from dockyard.services.repositories import Repositories, check_config, check_tags
from dockyard.services.threads import blocking

T = TypeVar("T")

# ECR's quotas page names no limit on templates; this one is Dockyard's choice (twice
# ECR's 50 pull-through cache rules, which templates usually pair with).
MAX_TEMPLATES = 100
_ROLE_ARN = re.compile(r"^arn:aws[a-z0-9-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")

#: What the ``create_on_push`` setting stands for: a ROOT template for CREATE_ON_PUSH with
#: default settings, below any template the registry really holds.
DEFAULT_CREATE_ON_PUSH = CreationTemplate(
    ROOT,
    TemplateSettings(applied_for=(AppliedFor.CREATE_ON_PUSH,)),
    datetime.fromtimestamp(0, UTC),
    datetime.fromtimestamp(0, UTC),
)


@dataclass(frozen=True, slots=True)
class TemplateChanges:
    """An update: None leaves a setting as it is. An empty text, list or mapping removes an
    optional setting (the model allows empty policies, key and role for that)."""

    applied_for: tuple[AppliedFor, ...] | None = None
    description: str | None = None
    tag_mutability: TagMutability | None = None
    mutability_filters: tuple[str, ...] | None = None
    encryption_type: str | None = None
    kms_key: str | None = None
    resource_tags: dict[str, str] | None = None
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    custom_role_arn: str | None = None


def _or_none(text: str | None) -> str | None:
    return text or None


class Templates:
    def __init__(
        self,
        store: TemplateStore,
        repositories: Repositories,
        policies_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._repositories = repositories
        # The authorizer's forget: a repository born with a policy must be judged by it.
        self._policies_changed = policies_changed

    # Managing templates -------------------------------------------------------

    async def create(
        self, scope: Scope, prefix: str, settings: TemplateSettings
    ) -> CreationTemplate:
        settings = _checked(scope, settings)
        return await blocking(
            self._store.create,
            scope,
            normalize_prefix(prefix),
            settings,
            datetime.now(UTC),
            MAX_TEMPLATES,
        )

    async def update(self, scope: Scope, prefix: str, changes: TemplateChanges) -> CreationTemplate:
        prefix = normalize_prefix(prefix)
        current = (await blocking(self._store.get, scope, prefix)).settings
        # A mode replaces the rule (its filters, if any, come with it); filters alone
        # keep the mode.
        mutability = current.mutability
        if changes.tag_mutability is not None:
            mutability = MutabilityRule(changes.tag_mutability, changes.mutability_filters or ())
        elif changes.mutability_filters is not None:
            mutability = MutabilityRule(current.mutability.mutability, changes.mutability_filters)
        merged = TemplateSettings(
            applied_for=_given(changes.applied_for, current.applied_for),
            description=_text(changes.description, current.description),
            mutability=mutability,
            encryption_type=changes.encryption_type or current.encryption_type,
            kms_key=_text(changes.kms_key, current.kms_key),
            resource_tags=_given(changes.resource_tags, current.resource_tags),
            repository_policy=_text(changes.repository_policy, current.repository_policy),
            lifecycle_policy=_text(changes.lifecycle_policy, current.lifecycle_policy),
            custom_role_arn=_text(changes.custom_role_arn, current.custom_role_arn),
        )
        if changes.encryption_type is not None and changes.kms_key is None:
            # A new encryption type does not inherit the key of the old one.
            merged = dataclasses.replace(merged, kms_key=None)
        merged = _checked(scope, merged)
        return await blocking(self._store.replace, scope, prefix, merged, datetime.now(UTC))

    async def delete(self, scope: Scope, prefix: str) -> CreationTemplate:
        """Remove a template; repositories made from it keep their settings."""
        return await blocking(self._store.delete, scope, normalize_prefix(prefix))

    async def describe(
        self,
        scope: Scope,
        prefixes: Sequence[str] | None,
        after: str | None,
        limit: int | None,
    ) -> list[CreationTemplate]:
        # No prefixes (absent or an empty list) asks for every template.
        wanted = [normalize_prefix(p) for p in prefixes] if prefixes else None
        return await blocking(self._store.list, scope, wanted, after, limit)

    # Using templates ----------------------------------------------------------

    async def template_for(
        self,
        scope: Scope,
        name: RepositoryName,
        use: AppliedFor,
        fallback: CreationTemplate | None = None,
    ) -> CreationTemplate | None:
        """The template that decides how ``name`` is created for ``use``; ``fallback``
        when none of the registry's applies."""
        found = best_template(await blocking(self._store.list, scope), name, use)
        return found or fallback

    async def create_from(self, template: CreationTemplate, key: RepositoryKey) -> Repository:
        """The repository ``key`` with ``template``'s settings; the one that exists when
        another request created it first (two first pushes at once)."""
        settings = template.settings
        config = RepositoryConfig(
            mutability=settings.mutability,
            encryption_type=settings.encryption_type,
            kms_key=settings.kms_key,
        )
        try:
            created = await self._repositories.create(
                key,
                config,
                dict(settings.resource_tags),
                repository_policy=settings.repository_policy,
                lifecycle_policy=settings.lifecycle_policy,
            )
        except RepositoryAlreadyExists:
            return await self._repositories.get(key)
        if settings.repository_policy is not None:
            self._policies_changed()
        return created

    async def create_repository_from_template(
        self,
        scope: Scope,
        name: RepositoryName,
        applied_for: AppliedFor,
        fallback: CreationTemplate | None = None,
    ) -> Repository | None:
        """Create ``name`` as the template for ``applied_for`` says (``fallback`` when none
        applies); None when no template applies, and nothing is created. The caller has
        decided already that the creation is allowed."""
        template = await self.template_for(scope, name, applied_for, fallback)
        if template is None:
            return None
        return await self.create_from(template, RepositoryKey(scope, name))


def _given(new: T | None, old: T) -> T:
    return old if new is None else new


def _text(new: str | None, old: str | None) -> str | None:
    return old if new is None else _or_none(new)


def _checked(scope: Scope, settings: TemplateSettings) -> TemplateSettings:
    """``settings`` with empty optional texts as None, or the error of its first problem."""
    settings = dataclasses.replace(
        settings,
        applied_for=tuple(dict.fromkeys(settings.applied_for)),
        description=_or_none(settings.description),
        kms_key=_or_none(settings.kms_key),
        repository_policy=_or_none(settings.repository_policy),
        lifecycle_policy=_or_none(settings.lifecycle_policy),
        custom_role_arn=_or_none(settings.custom_role_arn),
    )
    if not settings.applied_for:
        raise TemplateInvalid(
            "appliedFor must name at least one of REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH"
        )
    check_config(
        RepositoryConfig(
            mutability=settings.mutability,
            encryption_type=settings.encryption_type,
            kms_key=settings.kms_key,
        )
    )
    check_tags(settings.resource_tags)
    if settings.lifecycle_policy is not None:
        parse_lifecycle_policy(settings.lifecycle_policy)
    if settings.repository_policy is not None:
        check_policy_text(settings.repository_policy)
    role = settings.custom_role_arn
    if role is not None:
        found = _ROLE_ARN.match(role)
        if found is None or found.group(1) != scope.account_id:
            raise TemplateInvalid(
                f"customRoleArn must be the ARN of an IAM role in the registry's account "
                f"{scope.account_id}: {role[:200]!r}"
            )
    return settings
