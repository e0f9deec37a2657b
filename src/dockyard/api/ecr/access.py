"""Authorization of ECR calls: the dispatch's step between validation and the handler.

Each call needs its registered action (``ecr:<Operation>``) on the resources its input
names (``services.authorization.ecr_targets``): the repository of ``repositoryName`` or
``resourceArn`` in the ``registryId``'s account, each of ``repositoryNames``, or ``*`` for
the registry-wide operations; and what else the call implies (``implied_targets``: storing a
creation template asks for the permissions to create what it describes). The decision is
the Authorizer's, as on ``/v2``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dockyard.api.aws.registry import Registration
from dockyard.api.aws.service import Call
from dockyard.services.authorization import RequestFacts, ecr_targets, implied_targets


def _request_tags(body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    # A creation template's tags are those of the repositories it will create.
    tags = body.get("tags", body.get("resourceTags"))
    if not isinstance(tags, list):
        return ()
    return tuple(
        (str(t.get("Key", "")), str(t.get("Value", ""))) for t in tags if isinstance(t, dict)
    )


async def authorize(call: Call, registration: Registration[Any], body: dict[str, Any]) -> None:
    """Nothing when the caller may make this call; AccessDenied otherwise."""
    registry = call.registry
    account = call.caller.principal.account_id
    facts = RequestFacts(
        source_ip=call.source_ip,
        secure_transport=call.secure_transport,
        request_tags=_request_tags(body),
    )
    region = call.region
    for target in ecr_targets(call.operation, body, account, region):
        if target.action != registration.action:
            target = replace(target, action=registration.action)
        await registry.authz.authorize(call.caller, target, facts)
    for target in implied_targets(call.operation, body, account, region):
        await registry.authz.authorize(call.caller, target, facts)
