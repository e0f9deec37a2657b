"""Authorization of IAM and STS calls: the registered action on the registered resource,
decided by the same Authorizer as ECR's calls and ``/v2`` (identity policies; an account's
root may do anything in its own account)."""

from __future__ import annotations

from typing import Any

from dockyard.api.aws.registry import Registration
from dockyard.api.aws.service import Call
from dockyard.services.authorization import RequestFacts, Target

__all__ = ["authorize_in_account", "facts_of"]


def facts_of(call: Call) -> RequestFacts:
    return RequestFacts(source_ip=call.source_ip, secure_transport=call.secure_transport)


async def authorize_in_account(
    call: Call, registration: Registration[Any], body: dict[str, Any]
) -> None:
    """AccessDenied unless the caller's policies allow the operation's action on its
    resource (``*`` where the registration names none), in the caller's own account."""
    resource = registration.resource(call, body) if registration.resource else "*"
    target = Target(registration.action, resource, call.caller.account_id)
    await call.registry.authz.authorize(call.caller, target, facts_of(call))
