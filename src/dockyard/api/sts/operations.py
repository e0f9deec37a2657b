"""STS operations: who am I, and temporary credentials for a role."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dockyard.api.aws.access import facts_of
from dockyard.api.aws.model import load_model
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.service import Call
from dockyard.domain.errors import InvalidRequest

#: STS's operations (``name -> handler``), checked against botocore's STS model.
OPERATIONS: OperationRegistry[Call] = OperationRegistry(load_model("sts"))
DEFAULT_DURATION = 3600  # STS's default DurationSeconds


def _role_arn(call: Call, body: dict[str, Any]) -> str:
    return str(body["RoleArn"])


@OPERATIONS.operation("GetCallerIdentity")
async def get_caller_identity(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    found = await call.registry.iam.get_caller_identity(call.caller)
    return {"UserId": found.user_id, "Account": found.account, "Arn": found.arn}


@OPERATIONS.operation("AssumeRole", resource=_role_arn)
async def assume_role(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("Policy") is not None or body.get("PolicyArns"):
        # A session policy narrows a session; ignoring one would hand out more than asked.
        raise InvalidRequest("Session policies (Policy, PolicyArns) are not supported")
    assumed = await call.registry.iam.assume_role(
        call.caller,
        body["RoleArn"],
        body["RoleSessionName"],
        int(body.get("DurationSeconds") or DEFAULT_DURATION),
        replace(facts_of(call), external_id=body.get("ExternalId")),
    )
    credentials = assumed.credentials
    return {
        "Credentials": {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": credentials.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": assumed.assumed_role_id, "Arn": assumed.arn},
    }
