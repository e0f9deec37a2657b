"""Pull-through cache rules, one row per (account, region, ecrRepositoryPrefix)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.cache_rules import CacheRule, Upstream, UpstreamKind
from dockyard.domain.errors import CacheRuleAlreadyExists, CacheRuleNotFound, LimitExceeded
from dockyard.domain.records import Scope
from dockyard.metadata.common import aware
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import pull_through_cache_rules as ptc

QUOTA_NAME = "pull through cache rules per registry"


def _in_registry(scope: Scope) -> ColumnElement[bool]:
    return and_(ptc.c.account_id == scope.account_id, ptc.c.region == scope.region)


def _named(scope: Scope, prefix: str) -> ColumnElement[bool]:
    return and_(_in_registry(scope), ptc.c.prefix == prefix)


def _values(rule: CacheRule) -> dict[str, Any]:
    return {
        "upstream_kind": rule.upstream.kind.value,
        "upstream_url": rule.upstream.url,
        "upstream_prefix": rule.upstream_prefix,
        "credential_arn": rule.credential_arn,
        "custom_role_arn": rule.custom_role_arn,
        "updated_at": rule.updated_at,
    }


def _rule(row: Any) -> CacheRule:
    return CacheRule(
        prefix=row.prefix,
        upstream=Upstream(UpstreamKind(row.upstream_kind), row.upstream_url),
        upstream_prefix=row.upstream_prefix,
        credential_arn=row.credential_arn,
        custom_role_arn=row.custom_role_arn,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class CacheRuleStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, scope: Scope, rule: CacheRule, quota: int) -> CacheRule:
        """Store a new rule; CacheRuleAlreadyExists for a prefix in use, LimitExceeded when
        the registry holds ``quota`` rules already."""
        row = {
            "account_id": scope.account_id,
            "region": scope.region,
            "prefix": rule.prefix,
            "created_at": rule.created_at,
            **_values(rule),
        }
        try:
            with writing(self._engine) as conn:
                if conn.execute(select(ptc.c.prefix).where(_named(scope, rule.prefix))).first():
                    raise CacheRuleAlreadyExists(rule.prefix, scope.account_id)
                # As for templates: two creates at once on PostgreSQL may both pass at
                # quota - 1; the quota guards against runaway scripts, not an exact count.
                held = conn.execute(
                    select(func.count()).select_from(ptc).where(_in_registry(scope))
                ).scalar_one()
                if held >= quota:
                    raise LimitExceeded(QUOTA_NAME, quota)
                conn.execute(insert(ptc).values(**row))
        except IntegrityError:
            raise CacheRuleAlreadyExists(rule.prefix, scope.account_id) from None
        return rule

    def get(self, scope: Scope, prefix: str) -> CacheRule:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(select(ptc).where(_named(scope, prefix))).first()
        if row is None:
            raise CacheRuleNotFound(prefix, scope.account_id)
        return _rule(row)

    def replace(
        self,
        scope: Scope,
        prefix: str,
        credential_arn: str | None,
        custom_role_arn: str | None,
        at: datetime,
    ) -> CacheRule:
        """Give the rule of ``prefix`` a new credential and role (the rest of a rule never
        changes); CacheRuleNotFound if there is none. Returns the rule as now stored."""
        values = {
            "credential_arn": credential_arn,
            "custom_role_arn": custom_role_arn,
            "updated_at": at,
        }
        with writing(self._engine) as conn:
            row = conn.execute(select(ptc).where(_named(scope, prefix))).first()
            if row is None:
                raise CacheRuleNotFound(prefix, scope.account_id)
            conn.execute(update(ptc).where(_named(scope, prefix)).values(**values))
        return dataclasses.replace(
            _rule(row),
            credential_arn=credential_arn,
            custom_role_arn=custom_role_arn,
            updated_at=at,
        )

    def delete(self, scope: Scope, prefix: str) -> CacheRule:
        """Remove the rule of ``prefix`` and return it; CacheRuleNotFound if none."""
        with writing(self._engine) as conn:
            row = conn.execute(select(ptc).where(_named(scope, prefix))).first()
            if row is None:
                raise CacheRuleNotFound(prefix, scope.account_id)
            conn.execute(delete(ptc).where(_named(scope, prefix)))
        return _rule(row)

    def list(
        self,
        scope: Scope,
        prefixes: Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CacheRule]:
        """The registry's rules in byte order of their prefixes (only ``prefixes``, when
        given), after ``after``, at most ``limit``."""
        query = select(ptc).where(_in_registry(scope)).order_by(bytewise(ptc.c.prefix))
        if prefixes is not None:
            query = query.where(ptc.c.prefix.in_(list(prefixes)))
        if after is not None:
            query = query.where(bytewise(ptc.c.prefix) > after)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine, single_statement=True) as conn:
            return [_rule(row) for row in conn.execute(query)]
