"""Policy evaluation as AWS documents it, for one request: a pure function.

``evaluate`` takes the caller's identity-based policies, the resource's policy (an ECR
repository or registry policy, or a role's trust policy for ``sts:AssumeRole``) and the
resource's account, and decides:

1. An explicit Deny in any of them that applies to the request wins (a Deny in a resource
   policy naming an account applies to every principal of that account, root included).
2. The root of an account holds every identity-based permission of its account; nobody can
   attach a policy to it, so it is allowed wherever an identity-based Allow would be needed.
3. Within the resource's account, an identity-based Allow *or* a resource-policy Allow that
   names the principal suffices. "Names the principal" means ``*``, the caller's ARN, or for
   an assumed-role session its role's ARN or its session ARN. A resource policy that names
   only the account (``"AWS": "123456789012"`` or its root ARN) delegates to the account: it
   allows the root, and any other principal only as far as its identity policies allow.
4. Across accounts, both must allow: an identity-based Allow (or the root) *and* a
   resource-policy Allow naming the principal or its account.

Not modelled, as Dockyard has none of them: service control policies, resource control
policies, permissions boundaries and session policies.

``NotPrincipal`` excludes a principal only when both the principal (its ARN, or for a
session its session or role ARN) and its account's root are listed, as AWS advises
writing it; listing a user alone does not exempt the user, since AWS evaluates the account
too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from functools import lru_cache

from dockyard.domain.policy.conditions import ContextValue, RequestContext, holds
from dockyard.domain.policy.language import Effect, Policy, PolicyKind, Principals, Statement
from dockyard.domain.policy.patterns import Lookup, Pattern, arn_matches, matches, resolve


class PrincipalType(StrEnum):
    """``aws:PrincipalType`` as AWS sets it."""

    ACCOUNT = "Account"  # an account's root
    USER = "User"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"  # an AWS service principal such as ecs-tasks.amazonaws.com
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """Who asks to do what to which resource, and what else the request says.

    ``principal_arn`` is the caller's ARN (a session's ``arn:aws:sts::...:assumed-role/R/S``),
    ``role_arn`` the role a session assumed (with its path). ``username`` is set for IAM
    users only, ``userid`` as ``aws:userid`` reads (the account id for a root, "AIDA..." for
    a user, "AROA...:session" for a session). ``context`` holds the other condition keys,
    any case (``aws:SourceIp``, ``aws:SecureTransport``, ``aws:ResourceTag/team``,
    ``aws:TagKeys``, ...); a list or tuple is a multivalued key. The principal keys
    (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``,
    ``aws:userid``) are derived from the fields and win over the context;
    ``aws:CurrentTime`` and ``aws:EpochTime`` default to ``now``, ``aws:ResourceAccount`` to
    the resource's account.
    """

    principal_arn: str
    principal_account: str
    action: str
    resource: str
    principal_type: PrincipalType = PrincipalType.USER
    username: str | None = None
    userid: str | None = None
    role_arn: str | None = None
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.principal_type is PrincipalType.ACCOUNT

    @property
    def account_root_arn(self) -> str:
        return f"arn:aws:iam::{self.principal_account}:root"


class Reason(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY_IDENTITY = "explicit deny in an identity-based policy"
    EXPLICIT_DENY_RESOURCE = "explicit deny in a resource-based policy"
    NO_IDENTITY_ALLOW = "no identity-based policy allows"
    NO_RESOURCE_ALLOW = "no resource-based policy allows"


@dataclass(frozen=True, slots=True)
class StatementRef:
    """A statement that took part in a decision: whose, which, and what it said."""

    policy: str  # the policy's name (an ARN, an inline policy's name, or its Id)
    kind: PolicyKind
    index: int
    sid: str | None
    effect: Effect

    def __str__(self) -> str:
        where = f"{self.kind} policy {self.policy}" if self.policy else f"{self.kind} policy"
        statement = f"Sid {self.sid}" if self.sid else f"statement {self.index}"
        return f"{self.effect} by {where}, {statement}"


@dataclass(frozen=True, slots=True)
class Decision:
    """``statements``: the denying statements of an explicit deny, the allowing ones of an
    allow (none for a root's implicit permission), none for an implicit deny."""

    allowed: bool
    reason: Reason
    statements: tuple[StatementRef, ...] = ()

    def because(self, action: str) -> str:
        """The end of AWS's AccessDenied sentence for this decision."""
        if self.reason is Reason.EXPLICIT_DENY_IDENTITY:
            return "with an explicit deny in an identity-based policy"
        if self.reason is Reason.EXPLICIT_DENY_RESOURCE:
            return "with an explicit deny in a resource-based policy"
        if self.reason is Reason.NO_RESOURCE_ALLOW:
            return f"because no resource-based policy allows the {action} action"
        if self.reason is Reason.NO_IDENTITY_ALLOW:
            return f"because no identity-based policy allows the {action} action"
        return "because it is allowed"


def denial_message(request: AccessRequest, decision: Decision) -> str:
    """AWS's AccessDenied sentence: ``User: <arn> is not authorized to perform: <action> on
    resource: <arn> because no identity-based policy allows the <action> action``."""
    return (
        f"User: {request.principal_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {decision.because(request.action)}"
    )


class _Match(Enum):
    NONE = 0
    ACCOUNT = 1  # through the caller's account: a delegation to its identity policies
    DIRECT = 2


def evaluate(
    request: AccessRequest,
    *,
    identity_policies: Sequence[Policy],
    resource_policy: Policy | None,
    resource_account: str,
    now: datetime,
    resource_policy_required: bool = False,
) -> Decision:
    """Whether ``request`` is allowed, why, and by or despite which statements.

    ``resource_policy_required`` is a role's trust policy (sts:AssumeRole): unlike other
    resource policies it must allow in the role's own account too, where an Allow that
    names only the account still needs the caller's identity policies to allow.
    """
    context = _context(request, now)
    context.setdefault("aws:resourceaccount", resource_account)
    identity_allows: list[StatementRef] = []
    identity_denies: list[StatementRef] = []
    for policy in identity_policies:
        lookup = _lookup(context) if policy.uses_variables else None
        for statement in policy.statements:
            if _applies(statement, request, context, lookup):
                ref = _ref(policy, statement)
                (identity_denies if ref.effect is Effect.DENY else identity_allows).append(ref)
    direct_allows: list[StatementRef] = []
    account_allows: list[StatementRef] = []
    resource_denies: list[StatementRef] = []
    if resource_policy is not None:
        lookup = _lookup(context) if resource_policy.uses_variables else None
        for statement in resource_policy.statements:
            match = _principal_match(statement, request)
            if match is _Match.NONE or not _applies(statement, request, context, lookup):
                continue
            ref = _ref(resource_policy, statement)
            if ref.effect is Effect.DENY:
                resource_denies.append(ref)
            elif match is _Match.DIRECT:
                direct_allows.append(ref)
            else:
                account_allows.append(ref)

    if identity_denies or resource_denies:
        reason = Reason.EXPLICIT_DENY_IDENTITY if identity_denies else Reason.EXPLICIT_DENY_RESOURCE
        return Decision(False, reason, tuple(identity_denies + resource_denies))
    identity_ok = request.is_root or bool(identity_allows)
    if request.principal_account == resource_account and not resource_policy_required:
        if identity_ok or direct_allows:
            return Decision(True, Reason.ALLOWED, tuple(identity_allows + direct_allows))
        return Decision(False, Reason.NO_IDENTITY_ALLOW)
    if direct_allows and request.principal_account == resource_account:
        return Decision(True, Reason.ALLOWED, tuple(identity_allows + direct_allows))
    if not identity_ok:
        return Decision(False, Reason.NO_IDENTITY_ALLOW)
    if not (direct_allows or account_allows):
        return Decision(False, Reason.NO_RESOURCE_ALLOW)
    return Decision(True, Reason.ALLOWED, tuple(identity_allows + direct_allows + account_allows))


def _ref(policy: Policy, statement: Statement) -> StatementRef:
    return StatementRef(policy.name, policy.kind, statement.index, statement.sid, statement.effect)


def _context(request: AccessRequest, now: datetime) -> dict[str, ContextValue]:
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    context: dict[str, ContextValue] = {
        "aws:currenttime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(moment.timestamp())),
    }
    for key, value in request.context.items():
        context[key.lower()] = value if isinstance(value, str) else tuple(value)
    context["aws:principalaccount"] = request.principal_account
    context["aws:principalarn"] = request.role_arn or request.principal_arn
    context["aws:principaltype"] = str(request.principal_type)
    for key in ("aws:username", "aws:userid"):
        context.pop(key, None)
    if request.username is not None and request.principal_type is PrincipalType.USER:
        context["aws:username"] = request.username
    userid = request.principal_account if request.is_root else request.userid
    if userid is not None:
        context["aws:userid"] = userid
    return context


def _lookup(context: RequestContext) -> Lookup:
    def lookup(key: str) -> str | None:
        value = context.get(key.lower())
        return value if isinstance(value, str) else None

    return lookup


@lru_cache(maxsize=4096)
def _plain(text: str) -> Pattern:
    """A pattern with no variables to resolve (actions, and resources of 2008 policies)."""
    pattern = resolve(text, None)
    assert pattern is not None  # without a lookup nothing is left unresolved
    return pattern


def _action_matches(action: str, patterns: Iterable[str]) -> bool:
    # Action names are case-insensitive in IAM: "ECR:putimage" is ecr:PutImage.
    return any(matches(action, _plain(p), ignore_case=True) for p in patterns)


def _resource_matches(resource: str, patterns: Iterable[str], lookup: Lookup | None) -> bool:
    for text in patterns:
        pattern = _plain(text) if lookup is None else resolve(text, lookup)
        if pattern is not None and arn_matches(resource, pattern):
            return True
    return False


def _applies(
    statement: Statement,
    request: AccessRequest,
    context: RequestContext,
    lookup: Lookup | None,
) -> bool:
    """Whether the statement's action, resource and conditions fit (not its principal)."""
    if statement.actions is not None:
        if not _action_matches(request.action, statement.actions):
            return False
    elif statement.not_actions is not None and _action_matches(
        request.action, statement.not_actions
    ):
        return False
    if statement.resources is not None:
        if not _resource_matches(request.resource, statement.resources, lookup):
            return False
    elif statement.not_resources is not None and _resource_matches(
        request.resource, statement.not_resources, lookup
    ):
        return False
    return all(holds(condition, context, lookup) for condition in statement.conditions)


def _names(principals: Principals, request: AccessRequest) -> _Match:
    """How a Principal element names the caller: itself, its account, or not at all."""
    if principals.everyone:
        return _Match.DIRECT
    if request.principal_type is PrincipalType.SERVICE:
        return _Match.DIRECT if request.principal_arn in principals.service else _Match.NONE
    if request.principal_type is PrincipalType.FEDERATED_USER and (
        request.principal_arn in principals.federated
    ):
        return _Match.DIRECT
    own = {request.principal_arn, request.role_arn} - {None}
    if own & set(principals.aws):
        return _Match.DIRECT
    if request.account_root_arn in principals.aws:
        return _Match.DIRECT if request.is_root else _Match.ACCOUNT
    return _Match.NONE


def _principal_match(statement: Statement, request: AccessRequest) -> _Match:
    if statement.principal is not None:
        return _names(statement.principal, request)
    if statement.not_principal is not None:
        excluded = statement.not_principal
        if excluded.everyone:
            return _Match.NONE
        if request.principal_type is PrincipalType.SERVICE:
            listed = request.principal_arn in excluded.service
            return _Match.NONE if listed else _Match.DIRECT
        own = {request.principal_arn, request.role_arn} - {None}
        account_listed = request.account_root_arn in excluded.aws
        if account_listed and (request.is_root or own & set(excluded.aws)):
            return _Match.NONE
        return _Match.DIRECT
    return _Match.NONE
