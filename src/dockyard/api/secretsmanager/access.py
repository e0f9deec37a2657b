"""Authorization of Secrets Manager calls: ``secretsmanager:<Operation>`` on the secret's
ARN, decided by the same Authorizer as every other request.

The ARN is the stored secret's (with its random suffix) when the request names one that
exists, so that policies written for ``...:secret:ecr-pullthroughcache/*`` and for one
secret's exact ARN both work; a secret still to be created (CreateSecret) or not found is
named without a suffix. ListSecrets acts on ``*``. A secret ARN of another account is that
account's resource: without a policy of its own (secrets take none here) it is denied.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.aws.registry import Registration
from dockyard.api.aws.service import Call
from dockyard.domain.records import Scope
from dockyard.domain.secrets import parse_secret_id
from dockyard.services.authorization import RequestFacts, Target

__all__ = ["authorize"]


def _unsuffixed(scope: Scope, name: str) -> str:
    return f"arn:aws:secretsmanager:{scope.region}:{scope.account_id}:secret:{name}"


async def _resource(call: Call, scope: Scope, body: dict[str, Any]) -> tuple[str, str]:
    """(resource ARN, owning account) of the call."""
    if call.operation == "ListSecrets":
        return "*", scope.account_id
    if call.operation == "CreateSecret":
        return _unsuffixed(scope, str(body["Name"])), scope.account_id
    secret_id = str(body["SecretId"])
    ref = parse_secret_id(secret_id)
    if ref.scope is not None and ref.scope != scope:
        return secret_id, ref.scope.account_id
    found = await call.registry.secrets.find(scope, secret_id)
    if found is not None:
        return found.arn, scope.account_id
    return (secret_id if ref.is_arn else _unsuffixed(scope, secret_id)), scope.account_id


_TAGGING = frozenset({"CreateSecret", "TagResource"})


def _request_tags(body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    tags = body.get("Tags")
    if not isinstance(tags, list):
        return ()
    return tuple(
        (str(t.get("Key", "")), str(t.get("Value", ""))) for t in tags if isinstance(t, dict)
    )


async def authorize(call: Call, registration: Registration[Any], body: dict[str, Any]) -> None:
    """Nothing when the caller may make this call; AccessDenied otherwise."""
    scope = call.registry.scope_of(call.caller.account_id, call.region)
    resource, owner = await _resource(call, scope, body)
    facts = RequestFacts(
        source_ip=call.source_ip,
        secure_transport=call.secure_transport,
        request_tags=_request_tags(body) if call.operation in _TAGGING else (),
    )
    target = Target(registration.action, resource, owner)
    await call.registry.authz.authorize(call.caller, target, facts)
