"""One policy decision for every request, whichever door it came through.

A request is first named as a ``Target``: the IAM action and the resource ARN (ECR's
repository ARN, or ``*`` for the registry-wide operations), plus the account that owns the
resource. ``ecr_targets`` maps an ECR operation to its targets; ``api/oci`` keeps a table of
the ``/v2`` routes' actions and builds targets with ``repository_target``.

The ``Authorizer`` gathers what the evaluation needs (the caller's identity policies, the
resource's policy, its tags) and asks the pure ``evaluate`` of ``domain.policy``. Decisions
are cached for ``CACHE_SECONDS``, keyed by everything they depend on that a request can
change, so a manifest GET costs its own query and a dictionary lookup; a permission revoked
anywhere (another node, the command line) stops working within that second, and at once when
it is revoked through this process (``forget``).

Who is allowed what, beyond the policies themselves:

- no caller (``--insecure-no-auth``, or an anonymous pull the settings allow): the
  authentication layer already decided; everything it lets through is allowed;
- an account's root has every permission its account can give (an allow-all identity
  policy), so within its own account only an explicit Deny in a resource policy stops it;
  elsewhere the resource policy must allow it, as for any other principal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from dockyard.domain.errors import AccessDenied, PolicyInvalid
from dockyard.domain.identity import Caller, Principal, PrincipalKind
from dockyard.domain.names import RepositoryName
from dockyard.domain.policy import (
    AccessRequest,
    Decision,
    Policy,
    PolicyKind,
    PrincipalType,
    Reason,
    evaluate,
    parse_policy,
)
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata import PolicyStore, RepositoryFacts
from dockyard.services.account_settings import AccountSettings
from dockyard.services.changes import ChangeMark
from dockyard.services.threads import blocking

CACHE_SECONDS = 1.0

# Registry-level actions: the registry policy governs them in either REGISTRY_POLICY_SCOPE.
REGISTRY_ACTIONS = frozenset(
    {"ecr:ReplicateImage", "ecr:CreateRepository", "ecr:BatchImportUpstreamImage"}
)
PULL_ACTIONS = frozenset(
    {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}
)


@dataclass(frozen=True, slots=True)
class Target:
    """What a request does (an IAM action) to what (a resource ARN), owned by which account;
    for an ECR resource that is no repository (``*``, ``repository/*``), also the region of
    the registry it is in."""

    action: str
    resource_arn: str
    account_id: str
    repository: RepositoryKey | None = None
    region: str | None = None

    @property
    def registry(self) -> Scope | None:
        """The registry whose registry policy may govern the request; None outside ECR."""
        if self.repository is not None:
            return self.repository.scope
        return None if self.region is None else Scope(self.account_id, self.region)


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a request says about itself that conditions may test."""

    source_ip: str | None = None
    secure_transport: bool = False
    request_tags: tuple[tuple[str, str], ...] = ()
    external_id: str | None = None  # AssumeRole's ExternalId, for sts:ExternalId


NO_FACTS = RequestFacts()


def repository_arn(key: RepositoryKey) -> str:
    return f"arn:aws:ecr:{key.scope.region}:{key.scope.account_id}:repository/{key.name}"


def repository_target(action: str, key: RepositoryKey) -> Target:
    return Target(action, repository_arn(key), key.scope.account_id, key)


def registry_target(action: str, scope: Scope) -> Target:
    return Target(action, "*", scope.account_id, region=scope.region)


def _repository_of_arn(arn: str, region: str | None) -> RepositoryKey | None:
    """The repository an ECR repository ARN names: in ``region`` only, when given."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "ecr"]:
        return None
    region = region or parts[3]
    if parts[3] != region:
        return None
    kind, _, name = parts[5].partition("/")
    if kind != "repository" or not name:
        return None
    try:
        return RepositoryKey(Scope(parts[4], region), RepositoryName.parse(name))
    except Exception:  # a malformed name: the handler answers for it
        return None


def _account_of_arn(arn: str) -> str | None:
    """The account an ARN names (a secret's, a role's...); None for ``*`` or none."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


def principal_of_arn(arn: str) -> Principal | None:
    """The principal an ARN names: a root, a user, an assumed-role session
    (``arn:aws:sts::A:assumed-role/R/S``), or a role (as a session of it named
    ``simulated``); None for anything else. Paths are dropped."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:2] != ["arn", "aws"] or parts[3] != "":
        return None
    service, account, resource = parts[2], parts[4], parts[5]
    if not (len(account) == 12 and account.isascii() and account.isdigit()):
        return None
    kind, _, rest = resource.partition("/")
    if service == "sts" and kind == "assumed-role":
        role, _, session = rest.partition("/")
        if role and session:
            return Principal(account, role, PrincipalKind.ASSUMED_ROLE, session_name=session)
        return None
    if service != "iam":
        return None
    if resource == "root":
        return Principal(account, "root", PrincipalKind.ROOT)
    name = rest.rsplit("/", 1)[-1]
    if kind == "user" and name:
        return Principal(account, name, PrincipalKind.USER)
    if kind == "role" and name:
        return Principal(account, name, PrincipalKind.ASSUMED_ROLE, session_name="simulated")
    return None


def ecr_targets(
    operation: str, body: Mapping[str, Any], caller_account: str, region: str
) -> list[Target]:
    """The targets an ECR operation must be allowed on: ``ecr:<Operation>`` on the
    repository it names (``repositoryName``, ``resourceArn``, each of ``repositoryNames``),
    on every repository of the registry (DescribeRepositories without names), or on ``*``
    for the registry-wide operations. The account is ``registryId``'s, else the caller's."""
    action = f"ecr:{operation}"
    account = str(body.get("registryId") or caller_account)
    arn = body.get("resourceArn")
    if isinstance(arn, str):
        key = _repository_of_arn(arn, region)
        owner = key.scope.account_id if key else account
        return [Target(action, arn, owner, key, None if key else region)]
    names: list[Any] = []
    if isinstance(body.get("repositoryName"), str):
        names = [body["repositoryName"]]
    elif isinstance(body.get("repositoryNames"), list):
        names = list(body["repositoryNames"])
    if names:
        targets = []
        for name in names:
            try:
                key = RepositoryKey(Scope(account, region), RepositoryName.parse(str(name)))
            except Exception:
                # Invalid names are the handler's to refuse; authorize the ARN as given.
                arn = f"arn:aws:ecr:{region}:{account}:repository/{name}"
                targets.append(Target(action, arn, account, region=region))
                continue
            targets.append(repository_target(action, key))
        return targets
    if operation == "DescribeRepositories":
        every = f"arn:aws:ecr:{region}:{account}:repository/*"
        return [Target(action, every, account, region=region)]
    return [registry_target(action, Scope(account, region))]


# What ECR asks, beyond the operation's own action, of a caller who stores a creation
# template: that they could create such repositories and set such policies themselves
# (ECR user guide, "IAM permissions for creating repository creation templates").
_TEMPLATE_WRITES = frozenset(
    {"CreateRepositoryCreationTemplate", "UpdateRepositoryCreationTemplate"}
)


def implied_targets(
    operation: str, body: Mapping[str, Any], caller_account: str, region: str
) -> list[Target]:
    """Targets an ECR operation needs besides its own (``ecr_targets``): for a creation
    template, ``ecr:CreateRepository`` on the repositories its prefix covers, plus
    ``ecr:PutLifecyclePolicy`` / ``ecr:SetRepositoryPolicy`` when it carries such a policy.
    (``iam:PassRole`` for ``customRoleArn`` is not asked: Dockyard assumes no role.)"""
    if operation not in _TEMPLATE_WRITES:
        return []
    prefix = str(body.get("prefix") or "").rstrip("/")
    covered = "*" if prefix in ("", "ROOT") else f"{prefix}/*"
    arn = f"arn:aws:ecr:{region}:{caller_account}:repository/{covered}"
    actions = ["ecr:CreateRepository"]
    if body.get("lifecyclePolicy"):
        actions.append("ecr:PutLifecyclePolicy")
    if body.get("repositoryPolicy"):
        actions.append("ecr:SetRepositoryPolicy")
    return [Target(action, arn, caller_account, region=region) for action in actions]


#: (policy name or ARN, document) of every identity policy of a principal (IAM's).
IdentityPolicies = Callable[[Principal], Awaitable[list[tuple[str, str]]]]
# registry.iam.trust_policy: a role's trust policy, None when there is no such role.
TrustPolicies = Callable[[str], Awaitable[str | None]]
ASSUME_ROLE = "sts:AssumeRole"


@dataclass(frozen=True, slots=True)
class _Inputs:
    identity: tuple[tuple[str, str], ...]  # (policy name or ARN, document)
    resource: tuple[tuple[str, str], ...]  # (what it is, document)
    tags: Mapping[str, str] = field(default_factory=dict)
    # The resource policy is a role's trust policy, which must allow in any account.
    trust: bool = False


class Authorizer:
    def __init__(
        self,
        policies: PolicyStore,
        account_settings: AccountSettings,
        identity_policies: IdentityPolicies | None,
        default_region: str,
        trust_policies: TrustPolicies | None = None,
        changes: ChangeMark | None = None,
    ) -> None:
        self._policies = policies
        self._settings = account_settings
        # registry.iam.identity_policies: (policy name or ARN, document) of a principal.
        self._identity_policies = identity_policies
        self._trust_policies = trust_policies
        self._default_region = default_region
        # A decision stands for CACHE_SECONDS, and only while the mark reads as it did
        # before the decision was gathered (a change through any worker moves it).
        self._changes = changes or ChangeMark()
        self._decisions: dict[tuple[Any, ...], tuple[float, int, Decision]] = {}
        self._pending: dict[tuple[Any, ...], asyncio.Future[Decision]] = {}

    # Public API ----------------------------------------------------------

    async def authorize(
        self, caller: Caller | None, target: Target, facts: RequestFacts = NO_FACTS
    ) -> None:
        """Nothing when allowed; AccessDenied in AWS's words otherwise."""
        if caller is None:
            return
        decision = await self.decide(caller.principal, target, facts)
        if not decision.allowed:
            raise AccessDenied(denial_message(caller.principal.arn, target, decision))

    async def allows(
        self, caller: Caller | None, target: Target, facts: RequestFacts = NO_FACTS
    ) -> bool:
        if caller is None:
            return True
        return bool((await self.decide(caller.principal, target, facts)).allowed)

    async def decide(self, principal: Principal, target: Target, facts: RequestFacts) -> Decision:
        key = (
            principal,
            target.action,
            target.resource_arn,
            target.account_id,
            target.region,
            facts,
        )
        mark = self._changes.read()
        cached = self._decisions.get(key)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == mark:
            return cached[2]
        pending = self._pending.get(key)
        if pending is not None:
            # Concurrent misses of one key (c=32 when the entry lapses) share one evaluation;
            # if the one evaluating fails or its request goes away, this one decides itself.
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
            except Exception:
                pass
            return await self._evaluate(principal, target, facts)
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            decision = await self._evaluate(principal, target, facts)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(decision)
        if len(self._decisions) > 50_000:
            self._decisions.clear()
        self._decisions[key] = (time.monotonic() + CACHE_SECONDS, mark, decision)
        return decision

    async def simulate(
        self,
        principal: Principal,
        action: str,
        resource_arn: str,
        account_id: str | None = None,
        region: str | None = None,
    ) -> Decision:
        """The decision for a principal, action and resource, uncached, with the statements
        that made it (``dockyard iam simulate``). A repository ARN names its registry's
        region; another resource is in ``region``, else the default region. The owner is
        ``account_id``, else the account the ARN names (a secret's), else the principal's."""
        key = _repository_of_arn(resource_arn, region)
        owner = account_id or (key.scope.account_id if key else _account_of_arn(resource_arn))
        owner = owner or principal.account_id
        where = None if key else region or self._default_region
        target = Target(action, resource_arn, owner, key, where)
        return await self._evaluate(principal, target, NO_FACTS)

    def forget(self) -> None:
        """Drop every cached decision, here and in the node's other processes: a policy
        changed through this process."""
        self._decisions.clear()
        self._changes.move()

    # Gathering -----------------------------------------------------------

    async def _evaluate(
        self, principal: Principal, target: Target, facts: RequestFacts
    ) -> Decision:
        inputs = await self._gather(principal, target)
        return evaluate_inputs(principal, target, facts, inputs, datetime.now(UTC))

    async def allowed_under(
        self, principal: Principal, target: Target, repository_policy: str
    ) -> bool:
        """Whether ``target`` would be allowed if the repository's policy were
        ``repository_policy`` (SetRepositoryPolicy's guard against a lock-out)."""
        inputs = await self._gather(principal, target, repository_policy)
        decision = evaluate_inputs(principal, target, NO_FACTS, inputs, datetime.now(UTC))
        return decision.allowed

    async def _gather(
        self, principal: Principal, target: Target, proposed: str | None = None
    ) -> _Inputs:
        # A root needs no identity policy (it holds its account's every permission, which
        # the evaluation knows), and none can be attached to it.
        identity = [] if principal.kind is PrincipalKind.ROOT else await self._identity(principal)
        if target.action == ASSUME_ROLE:
            trust = await self._trust(target.resource_arn)
            found = [] if trust is None else [(f"trust policy of {target.resource_arn}", trust)]
            return _Inputs(tuple(identity), tuple(found), trust=True)
        resource: list[tuple[str, str]] = []
        tags: Mapping[str, str] = {}
        if target.repository is not None:
            facts: RepositoryFacts | None = await blocking(
                self._policies.repository_facts, target.repository
            )
            if facts is not None:
                tags = facts.tags
                text = facts.policy.text if facts.policy is not None else None
                if proposed is not None:
                    text = proposed
                if text is not None:
                    resource.append((f"repository policy of {target.resource_arn}", text))
        registry_policy = await self._registry_policy(target)
        if registry_policy is not None:
            resource.append(registry_policy)
        return _Inputs(tuple(identity), tuple(resource), tags)

    async def _identity(self, principal: Principal) -> list[tuple[str, str]]:
        if self._identity_policies is None:
            return []
        return list(await self._identity_policies(principal))

    async def _trust(self, role_arn: str) -> str | None:
        return None if self._trust_policies is None else await self._trust_policies(role_arn)

    async def _registry_policy(self, target: Target) -> tuple[str, str] | None:
        """The registry policy, when it governs this action: always for the registry-level
        actions; for every ECR action under REGISTRY_POLICY_SCOPE V2 (ECR's default)."""
        scope = target.registry
        if not target.action.startswith("ecr:") or scope is None:
            return None
        if (
            target.action not in REGISTRY_ACTIONS
            and await self._settings.get(scope, "REGISTRY_POLICY_SCOPE") != "V2"
        ):
            return None
        stored = await blocking(self._policies.registry_policy, scope)
        if stored is None:
            return None
        return (f"registry policy of {target.account_id}", stored.text)


# Evaluation (the pure part is domain.policy's) --------------------------------


@lru_cache(maxsize=4096)
def _parsed(text: str, kind: PolicyKind, name: str) -> Policy:
    # Stored policies were checked when they were stored; one that no longer parses (an
    # older, laxer check) counts as absent rather than failing every request it touches.
    return parse_policy(text, kind=kind, name=name)


def _policies(found: Iterable[tuple[str, str]], kind: PolicyKind) -> list[Policy]:
    parsed = []
    for name, text in found:
        try:
            parsed.append(_parsed(text, kind, name))
        except PolicyInvalid:
            continue
    return parsed


def check_resource_policy(text: str) -> str | None:
    """What is wrong with ``text`` as a repository or registry policy; None if nothing."""
    try:
        parse_policy(text, kind=PolicyKind.RESOURCE)
    except PolicyInvalid as exc:
        return exc.describe()
    return None


def access_request(
    principal: Principal, target: Target, facts: RequestFacts, tags: Mapping[str, str]
) -> AccessRequest:
    context: dict[str, str | tuple[str, ...]] = {
        "aws:SecureTransport": "true" if facts.secure_transport else "false",
    }
    if facts.source_ip:
        context["aws:SourceIp"] = facts.source_ip
    if facts.external_id is not None:
        context["sts:ExternalId"] = facts.external_id
    for key, value in tags.items():
        context[f"aws:ResourceTag/{key}"] = value
        context[f"ecr:ResourceTag/{key}"] = value
    if facts.request_tags:
        for key, value in facts.request_tags:
            context[f"aws:RequestTag/{key}"] = value
        context["aws:TagKeys"] = tuple(key for key, _ in facts.request_tags)
    kind = principal.kind
    return AccessRequest(
        principal_arn=principal.arn,
        principal_account=principal.account_id,
        action=target.action,
        resource=target.resource_arn,
        principal_type=PrincipalType(principal.principal_type),
        username=principal.name if kind is PrincipalKind.USER else None,
        userid=principal.user_id,
        role_arn=principal.role_arn,
        context=context,
    )


def evaluate_inputs(
    principal: Principal,
    target: Target,
    facts: RequestFacts,
    inputs: _Inputs,
    now: datetime,
) -> Decision:
    """The decision; with a repository policy and a registry policy both in force, each is
    a resource-based policy of its own: a Deny in either wins, an Allow in either suffices."""
    request = access_request(principal, target, facts, inputs.tags)
    identity = _policies(inputs.identity, PolicyKind.IDENTITY)
    kind = PolicyKind.TRUST if inputs.trust else PolicyKind.RESOURCE
    resources: list[Policy | None] = list(_policies(inputs.resource, kind)) or [None]
    decisions = [
        evaluate(
            request,
            identity_policies=identity,
            resource_policy=resource,
            resource_account=target.account_id,
            now=now,
            resource_policy_required=inputs.trust,
        )
        for resource in resources
    ]
    denied = [d for d in decisions if not d.allowed and d.statements]
    if denied:  # an explicit deny
        return denied[0]
    allowed = [d for d in decisions if d.allowed]
    if allowed:
        statements = tuple(dict.fromkeys(s for d in allowed for s in d.statements))
        return Decision(True, Reason.ALLOWED, statements)
    return decisions[0]


def denial_message(principal_arn: str, target: Target, decision: Decision) -> str:
    """AWS's AccessDenied sentence for a denied ``target``."""
    return (
        f"User: {principal_arn} is not authorized to perform: {target.action} "
        f"on resource: {target.resource_arn} {decision.because(target.action)}"
    )
