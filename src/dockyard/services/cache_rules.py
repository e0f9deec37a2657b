"""Pull-through cache rules: kept, checked as ECR checks them, and validated on request.

A rule's upstream and prefixes never change once it is stored (UpdatePullThroughCacheRule
changes only its credential and role, as in ECR). Its credentials are a Secrets Manager
secret of the rule's own account and region whose name starts with
``ecr-pullthroughcache/``: the model's pattern checks the name, this module that the secret
is there, live and readable with this node's key, when a rule is stored. Whether it holds a
``username`` and an ``accessToken`` the upstream accepts is ValidatePullThroughCacheRule's
question, answered with ``isValid`` and ``failure`` rather than an error.

The data path (``services/pullthrough.py``) asks ``rule_for`` which rule a pulled repository
is cached under, and ``credentials`` what to answer its upstream's challenges with.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dockyard.domain.cache_rules import (
    CREDENTIALS_REQUIRED,
    MAX_RULES,
    ROOT,
    ROOT_KINDS,
    CacheRule,
    UpstreamCredentials,
    UpstreamKind,
    normalize_prefix,
    parse_credentials,
    resolve_upstream,
    rule_for,
)
from dockyard.domain.errors import (
    CacheRuleNotFound,
    InvalidRequest,
    SecretMarkedForDeletion,
    SecretNotFound,
    SecretRequestInvalid,
    SecretUndecryptable,
)
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope
from dockyard.domain.secrets import parse_secret_id
from dockyard.metadata import CacheRuleStore
from dockyard.services.changes import ChangeMark
from dockyard.services.deletion import CacheRuleTarget, Deleter
from dockyard.services.named_pages import named_page
from dockyard.services.secrets import Secrets
from dockyard.services.threads import blocking
from dockyard.services.upstream_probe import Probe, probe

__all__ = ["CacheRules", "RuleSpec"]

# How long a process trusts its copy of a registry's rules when another node may have
# changed them (this node's changes move the mark, seen at once): as policy decisions.
RULES_CACHE_SECONDS = 1.0

_ROLE_ARN = re.compile(r"^arn:aws[a-z0-9-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """CreatePullThroughCacheRule's members."""

    prefix: str
    upstream_url: str
    upstream_registry: str | None = None
    upstream_prefix: str | None = None
    credential_arn: str | None = None
    custom_role_arn: str | None = None


class CacheRules:
    def __init__(
        self,
        store: CacheRuleStore,
        secrets: Secrets,
        deleter: Deleter,
        check: Probe = probe,
        changes: ChangeMark | None = None,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._deleter = deleter
        # How ValidatePullThroughCacheRule asks the upstream (the remote client's ping).
        self._probe = check
        # Every manifest and blob read asks rule_for, almost always of a registry without
        # rules: a query per read would halve the manifest GET rate.
        self._changes = changes or ChangeMark()
        self._listed: dict[Scope, tuple[float, int, list[CacheRule]]] = {}

    async def create(self, scope: Scope, spec: RuleSpec) -> CacheRule:
        prefix = normalize_prefix(spec.prefix)
        upstream = resolve_upstream(spec.upstream_url, spec.upstream_registry)
        if prefix == ROOT and upstream.kind not in ROOT_KINDS:
            raise InvalidRequest(
                "ecrRepositoryPrefix ROOT is for an ECR upstream or a registry given by URL, "
                f"not for {upstream.kind.value}"
            )
        upstream_prefix = _upstream_prefix(spec.upstream_prefix)
        if upstream_prefix is not None and prefix == ROOT:
            raise InvalidRequest(
                "upstreamRepositoryPrefix can be set only with an ecrRepositoryPrefix other "
                "than ROOT"
            )
        if spec.credential_arn is None and upstream.kind in CREDENTIALS_REQUIRED:
            raise InvalidRequest(
                f"A {upstream.kind.value} upstream requires credentials: give credentialArn, "
                "the ARN of a Secrets Manager secret named ecr-pullthroughcache/..."
            )
        if spec.credential_arn is not None:
            await self._check_secret(scope, spec.credential_arn)
        role = _role(scope, spec.custom_role_arn)
        _check_ecr_role(scope, upstream.ecr_account, role)
        now = datetime.now(UTC)
        rule = CacheRule(prefix, upstream, upstream_prefix, spec.credential_arn, role, now, now)
        created = await blocking(self._store.create, scope, rule, MAX_RULES)
        self._changes.move()
        return created

    async def describe(
        self,
        scope: Scope,
        prefixes: Sequence[str] | None,
        after: str | None,
        limit: int | None,
    ) -> list[CacheRule]:
        """The rules of the registry (only ``prefixes``, each of which must exist, when
        some are named), in byte order of their prefixes, after ``after``."""
        if not prefixes:
            return await blocking(self._store.list, scope, None, after, limit)
        wanted = list(dict.fromkeys(normalize_prefix(p) for p in prefixes))
        found = await blocking(self._store.list, scope, wanted)

        def missing(prefix: str) -> Exception:
            return CacheRuleNotFound(prefix, scope.account_id)

        return named_page(found, wanted, lambda rule: rule.prefix, missing, after, limit)

    async def update(
        self,
        scope: Scope,
        prefix: str,
        credential_arn: str | None,
        custom_role_arn: str | None,
    ) -> CacheRule:
        """A new credential and/or role for the rule of ``prefix`` (None keeps either; an
        empty role removes it)."""
        current = await blocking(self._store.get, scope, normalize_prefix(prefix))
        if credential_arn is not None:
            await self._check_secret(scope, credential_arn)
        role = current.custom_role_arn if custom_role_arn is None else _role(scope, custom_role_arn)
        _check_ecr_role(scope, current.upstream.ecr_account, role)
        updated = await blocking(
            self._store.replace,
            scope,
            current.prefix,
            credential_arn or current.credential_arn,
            role,
            datetime.now(UTC),
        )
        self._changes.move()
        return updated

    async def delete(self, scope: Scope, prefix: str) -> CacheRule:
        """Remove the rule; the repositories cached under it stay, as ordinary ones."""
        deleted = await self._deleter.delete(CacheRuleTarget(scope, normalize_prefix(prefix)))
        self._changes.move()
        return deleted

    async def validate(self, scope: Scope, prefix: str) -> tuple[CacheRule, str | None]:
        """The rule, and None if its secret reads as credentials and its upstream answers
        as a registry that takes them; else why not."""
        rule = await blocking(self._store.get, scope, normalize_prefix(prefix))
        credentials = None
        if rule.credential_arn is not None:
            try:
                credentials = await self._credentials(scope, rule.credential_arn)
            except (SecretNotFound, SecretMarkedForDeletion, SecretUndecryptable) as exc:
                return rule, exc.describe()
            except (ValueError, SecretRequestInvalid) as exc:
                return rule, f"The secret {rule.credential_arn} is no upstream credential: {exc}"
        failure = await self._probe(rule.upstream.base_url, credentials)
        if failure is not None and rule.upstream.kind is UpstreamKind.ECR:
            failure += " (Dockyard does not assume customRoleArn to reach an ECR upstream)"
        return rule, failure

    async def rule_for(self, scope: Scope, name: RepositoryName) -> CacheRule | None:
        """The rule a repository of ``scope`` would be cached under, if any."""
        return rule_for(await self._rules_of(scope), name)

    async def _rules_of(self, scope: Scope) -> list[CacheRule]:
        mark = self._changes.read()
        cached = self._listed.get(scope)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == mark:
            return cached[2]
        rules = await blocking(self._store.list, scope)
        self._listed[scope] = (time.monotonic() + RULES_CACHE_SECONDS, mark, rules)
        return rules

    async def credentials(self, scope: Scope, rule: CacheRule) -> UpstreamCredentials | None:
        """The credentials a rule's secret holds (None for a rule without one), for the
        data path's requests to its upstream."""
        if rule.credential_arn is None:
            return None
        return await self._credentials(scope, rule.credential_arn)

    async def _credentials(self, scope: Scope, arn: str) -> UpstreamCredentials:
        _same_registry(scope, arn)
        return parse_credentials(await self._secrets.current_text(scope, arn))

    async def _check_secret(self, scope: Scope, arn: str) -> None:
        """What ECR checks of a credentialArn when a rule is stored: the secret is in the
        rule's account and region, live, and opens."""
        _same_registry(scope, arn)
        # A binary secret opens too: ValidatePullThroughCacheRule says what is wrong with it.
        with contextlib.suppress(SecretRequestInvalid):
            await self._secrets.current_text(scope, arn)


def _same_registry(scope: Scope, arn: str) -> None:
    ref = parse_secret_id(arn)
    if ref.scope != scope:
        raise SecretNotFound(
            f"{arn} (a rule's secret must be in the rule's account {scope.account_id} "
            f"and region {scope.region})"
        )


def _upstream_prefix(text: str | None) -> str | None:
    """The stored upstream prefix: None for the default, ROOT (every upstream name)."""
    if text is None:
        return None
    prefix = normalize_prefix(text)
    return None if prefix == ROOT else prefix


def _role(scope: Scope, arn: str | None) -> str | None:
    if not arn:
        return None
    found = _ROLE_ARN.match(arn)
    if found is None or found.group(1) != scope.account_id:
        raise InvalidRequest(
            f"customRoleArn must be the ARN of an IAM role in the registry's account "
            f"{scope.account_id}: '{arn[:256]}'"
        )
    return arn


def _check_ecr_role(scope: Scope, upstream_account: str | None, role: str | None) -> None:
    # ECR reaches an ECR upstream of another account through a role the rule names.
    if upstream_account is not None and upstream_account != scope.account_id and role is None:
        raise InvalidRequest(
            f"An ECR upstream in another account ({upstream_account}) requires customRoleArn"
        )
