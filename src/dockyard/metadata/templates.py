"""Repository creation templates, one row per (account, region, prefix)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import LimitExceeded, TemplateAlreadyExists, TemplateNotFound
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.records import Scope
from dockyard.domain.templates import AppliedFor, CreationTemplate, TemplateSettings
from dockyard.metadata.common import aware
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import repository_creation_templates as rct

QUOTA_NAME = "repository creation templates per registry"


def _in_registry(scope: Scope) -> ColumnElement[bool]:
    return and_(rct.c.account_id == scope.account_id, rct.c.region == scope.region)


def _named(scope: Scope, prefix: str) -> ColumnElement[bool]:
    return and_(_in_registry(scope), rct.c.prefix == prefix)


def _values(settings: TemplateSettings) -> dict[str, Any]:
    return {
        "description": settings.description,
        "applied_for": [a.value for a in settings.applied_for],
        "tag_mutability": settings.mutability.mutability.value,
        "mutability_filters": list(settings.mutability.filters),
        "encryption_type": settings.encryption_type,
        "kms_key": settings.kms_key,
        "resource_tags": dict(settings.resource_tags),
        "repository_policy": settings.repository_policy,
        "lifecycle_policy": settings.lifecycle_policy,
        "custom_role_arn": settings.custom_role_arn,
    }


def _template(row: Any) -> CreationTemplate:
    settings = TemplateSettings(
        applied_for=tuple(AppliedFor(a) for a in row.applied_for),
        description=row.description,
        mutability=MutabilityRule(
            TagMutability(row.tag_mutability), tuple(row.mutability_filters or ())
        ),
        encryption_type=row.encryption_type,
        kms_key=row.kms_key,
        resource_tags=dict(row.resource_tags or {}),
        repository_policy=row.repository_policy,
        lifecycle_policy=row.lifecycle_policy,
        custom_role_arn=row.custom_role_arn,
    )
    return CreationTemplate(row.prefix, settings, aware(row.created_at), aware(row.updated_at))


class TemplateStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, scope: Scope, prefix: str, settings: TemplateSettings, at: datetime, quota: int
    ) -> CreationTemplate:
        """Store a new template; TemplateAlreadyExists for a prefix in use, LimitExceeded
        when the registry holds ``quota`` templates already."""
        row = {
            "account_id": scope.account_id,
            "region": scope.region,
            "prefix": prefix,
            "created_at": at,
            "updated_at": at,
            **_values(settings),
        }
        try:
            with writing(self._engine) as conn:
                if conn.execute(select(rct.c.prefix).where(_named(scope, prefix))).first():
                    raise TemplateAlreadyExists(prefix, scope.account_id)
                # Two creates at once on PostgreSQL may both see quota - 1 and pass: the
                # quota is a guard against runaway scripts, not an exact count.
                held = conn.execute(
                    select(func.count()).select_from(rct).where(_in_registry(scope))
                ).scalar_one()
                if held >= quota:
                    raise LimitExceeded(QUOTA_NAME, quota)
                conn.execute(insert(rct).values(**row))
        except IntegrityError:
            raise TemplateAlreadyExists(prefix, scope.account_id) from None
        return CreationTemplate(prefix, settings, at, at)

    def get(self, scope: Scope, prefix: str) -> CreationTemplate:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(select(rct).where(_named(scope, prefix))).first()
        if row is None:
            raise TemplateNotFound(prefix, scope.account_id)
        return _template(row)

    def replace(
        self, scope: Scope, prefix: str, settings: TemplateSettings, at: datetime
    ) -> CreationTemplate:
        """Give the template of ``prefix`` new settings; TemplateNotFound if there is none."""
        with writing(self._engine) as conn:
            row = conn.execute(select(rct).where(_named(scope, prefix))).first()
            if row is None:
                raise TemplateNotFound(prefix, scope.account_id)
            conn.execute(
                update(rct).where(_named(scope, prefix)).values(updated_at=at, **_values(settings))
            )
        return CreationTemplate(prefix, settings, aware(row.created_at), at)

    def delete(self, scope: Scope, prefix: str) -> CreationTemplate:
        """Remove the template of ``prefix`` and return it; TemplateNotFound if none."""
        with writing(self._engine) as conn:
            row = conn.execute(select(rct).where(_named(scope, prefix))).first()
            if row is None:
                raise TemplateNotFound(prefix, scope.account_id)
            conn.execute(delete(rct).where(_named(scope, prefix)))
        return _template(row)

    def list(
        self,
        scope: Scope,
        prefixes: Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CreationTemplate]:
        """The registry's templates in byte order of their prefixes (only ``prefixes``,
        when given), after ``after``, at most ``limit``."""
        query = select(rct).where(_in_registry(scope)).order_by(bytewise(rct.c.prefix))
        if prefixes is not None:
            query = query.where(rct.c.prefix.in_(list(prefixes)))
        if after is not None:
            query = query.where(bytewise(rct.c.prefix) > after)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine, single_statement=True) as conn:
            return [_template(row) for row in conn.execute(query)]
