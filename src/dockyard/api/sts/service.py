"""STS as a service of the shared AWS layer: the query protocol, SigV4 name ``sts``.

GetCallerIdentity needs no permission, as in AWS. AssumeRole needs the role's trust policy
to name the caller (``registry.iam`` checks it) and, as AWS documents, the caller's own
identity policies to allow ``sts:AssumeRole`` on the role -- unless the role is in the
caller's account and its trust policy names the caller itself (not just its account), in
which case the trust policy alone is enough. So a trust policy naming the account root lets
in only those of the account's principals whose policies allow it, as in AWS.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.api.aws.access import facts_of
from dockyard.api.aws.errors import QUERY_AUTH, ErrorMap
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.registry import Registration
from dockyard.api.aws.service import Call, Service
from dockyard.api.sts.operations import OPERATIONS
from dockyard.auth import sigv4
from dockyard.domain import errors as e
from dockyard.domain.identity import Caller, parse_role_arn
from dockyard.services.authorization import Target

ERRORS = ErrorMap(
    model=OPERATIONS.model,
    table={
        **QUERY_AUTH,
        sigv4.ExpiredToken: "ExpiredToken",
        e.AccessDenied: "AccessDenied",
        e.PolicyInvalid: "MalformedPolicyDocumentException",
        e.InvalidRequest: "ValidationError",
    },
    fallback="InternalFailure",
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def names_caller_itself(trust_policy: str, caller: Caller) -> bool:
    """Whether an Allow of ``trust_policy`` for sts:AssumeRole names the caller's own ARN
    (or, for a role session, its role's ARN) as its principal."""
    try:
        parsed = json.loads(trust_policy)
    except ValueError:
        return False
    raw = parsed.get("Statement") if isinstance(parsed, dict) else None
    own = {caller.arn, caller.principal.role_arn}
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _strings(statement.get("Action"))]
        if not {"sts:assumerole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict) and own & set(_strings(principal.get("AWS"))):
            return True
    return False


async def _authorize(call: Call, registration: Registration[Any], body: dict[str, Any]) -> None:
    if registration.resource is None:
        return  # GetCallerIdentity
    role_arn = registration.resource(call, body)
    role = parse_role_arn(role_arn)
    if role is not None and role.account_id == call.caller.account_id:
        try:
            found = await call.registry.iam.get_role(call.caller, role.name)
        except e.NoSuchEntity:
            return  # AssumeRole answers for a missing role, as it does for a distrusting one
        if names_caller_itself(found.trust_policy, call.caller):
            return
    # The caller's side: its own identity policies, judged in its own account.
    target = Target(registration.action, role_arn, call.caller.account_id)
    await call.registry.authz.authorize(call.caller, target, facts_of(call))


def _context(call: Call) -> Call:
    return call


SERVICE = Service(
    model=OPERATIONS.model,
    protocol=QueryProtocol(),
    operations=OPERATIONS,
    errors=ERRORS,
    context=_context,
    constraint_kind="ValidationError",
    authorize=_authorize,
)
