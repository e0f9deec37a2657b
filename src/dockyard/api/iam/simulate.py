"""SimulatePrincipalPolicy: the server's own decision for a principal, per action and
resource, with the statements that made it (``dockyard iam simulate`` on the API).

The principal is the caller's account's user, role (as a session of it) or root; the
decision is the Authorizer's, uncached, with the resource's own policies (a repository's,
the registry's), as a real request would meet them. ``PolicyInputList``, ``ResourcePolicy``
and ``ContextEntries`` are not simulated: Dockyard decides with what is stored.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.aws.service import Call
from dockyard.api.iam.operations import OPERATIONS
from dockyard.domain.errors import InvalidRequest
from dockyard.domain.policy import Decision, PolicyKind, Reason, StatementRef
from dockyard.services.authorization import principal_of_arn

_DECISIONS = {
    Reason.ALLOWED: "allowed",
    Reason.EXPLICIT_DENY_IDENTITY: "explicitDeny",
    Reason.EXPLICIT_DENY_RESOURCE: "explicitDeny",
    Reason.NO_IDENTITY_ALLOW: "implicitDeny",
    Reason.NO_RESOURCE_ALLOW: "implicitDeny",
}
_UNSUPPORTED = ("PolicyInputList", "PermissionsBoundaryPolicyInputList", "ResourcePolicy")


def _source_arn(call: Call, body: dict[str, Any]) -> str:
    return str(body["PolicySourceArn"])


def _source_type(ref: StatementRef) -> str:
    """IAM's PolicySourceType of a statement's policy (inline ids are "user/NAME/POLICY")."""
    if ref.kind is not PolicyKind.IDENTITY:
        return "resource"
    if ref.policy.startswith("arn:aws:iam::aws:policy/"):
        return "aws-managed"
    if ref.policy.startswith("arn:"):
        return "user-managed"
    owner = ref.policy.split("/", 1)[0]
    return owner if owner in ("user", "group", "role") else "none"


def _result(action: str, resource: str, decision: Decision) -> dict[str, Any]:
    return {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": _DECISIONS[decision.reason],
        "MatchedStatements": [
            {"SourcePolicyId": ref.policy or "(unnamed)", "SourcePolicyType": _source_type(ref)}
            for ref in decision.statements
        ],
        "MissingContextValues": [],
    }


@OPERATIONS.operation("SimulatePrincipalPolicy", resource=_source_arn)
async def simulate_principal_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    for member in _UNSUPPORTED:
        if body.get(member):
            raise InvalidRequest(f"{member} is not supported: Dockyard simulates stored policies")
    source = str(body["PolicySourceArn"])
    principal = principal_of_arn(source)
    if principal is None or principal.account_id != call.caller.account_id:
        raise InvalidRequest(
            f"PolicySourceArn {source} is not a user, role or root of your account"
        )
    owner = body.get("ResourceOwner")
    account = str(owner).split(":")[4] if owner and str(owner).count(":") >= 5 else None
    results = []
    for action in body["ActionNames"]:
        for resource in body.get("ResourceArns") or ["*"]:
            decision = await call.registry.authz.simulate(principal, action, resource, account)
            results.append(_result(action, resource, decision))
    return {"EvaluationResults": results, "IsTruncated": False}
