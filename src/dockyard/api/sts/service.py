"""STS as a service of the shared AWS layer: the query protocol, SigV4 name ``sts``.

GetCallerIdentity needs no permission, as in AWS. AssumeRole needs the role's trust policy
to name the caller (``registry.iam`` checks it) and, from another account, the caller's own
identity policies to allow ``sts:AssumeRole`` on the role.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.aws.access import facts_of
from dockyard.api.aws.errors import QUERY_AUTH, ErrorMap
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.registry import Registration
from dockyard.api.aws.service import Call, Service
from dockyard.api.sts.operations import OPERATIONS
from dockyard.auth import sigv4
from dockyard.domain import errors as e
from dockyard.domain.identity import parse_role_arn
from dockyard.services.authorization import Target

ERRORS = ErrorMap(
    model=OPERATIONS.model,
    table={
        **QUERY_AUTH,
        sigv4.ExpiredToken: "ExpiredToken",
        e.AccessDenied: "AccessDenied",
        e.MalformedPolicyDocument: "MalformedPolicyDocumentException",
        e.PolicyInvalid: "MalformedPolicyDocumentException",
        e.InvalidRequest: "ValidationError",
    },
    fallback="InternalFailure",
)


async def _authorize(call: Call, registration: Registration[Any], body: dict[str, Any]) -> None:
    if registration.resource is None:
        return  # GetCallerIdentity
    role_arn = registration.resource(call, body)
    role = parse_role_arn(role_arn)
    if role is not None and role.account_id != call.caller.account_id:
        # The caller's side of a cross-account AssumeRole: its own identity policies.
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
