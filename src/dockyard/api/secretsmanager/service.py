"""Secrets Manager as a service of the shared AWS layer: AWS JSON 1.1, ``X-Amz-Target:
secretsmanager.<Action>``, SigV4 name ``secretsmanager``, errors from its model.

Constraint failures are the JSON front end's ``ValidationException`` with member paths
spelt as AWS spells them for this service (``secretId``, lower-case first letter).
"""

from __future__ import annotations

from dockyard.api.aws.errors import JSON_AUTH, ErrorMap
from dockyard.api.aws.protocols.json import JsonProtocol
from dockyard.api.aws.service import Call, Service
from dockyard.api.secretsmanager.access import authorize
from dockyard.api.secretsmanager.operations import OPERATIONS, NextTokenInvalid
from dockyard.auth import sigv4
from dockyard.domain import errors as e

ERRORS = ErrorMap(
    model=OPERATIONS.model,
    table={
        **JSON_AUTH,
        sigv4.ExpiredToken: "ExpiredTokenException",
        e.AccessDenied: "AccessDeniedException",
        e.SecretNotFound: "ResourceNotFoundException",
        e.SecretAlreadyExists: "ResourceExistsException",
        e.SecretMarkedForDeletion: "InvalidRequestException",
        e.SecretRequestInvalid: "InvalidRequestException",
        e.SecretUndecryptable: "DecryptionFailure",
        e.InvalidRequest: "InvalidParameterException",
        e.JsonInvalid: "InvalidParameterException",
        e.LimitExceeded: "LimitExceededException",
        NextTokenInvalid: "InvalidNextTokenException",
    },
    fallback="InternalServiceError",
    statuses={"ExpiredTokenException": 403},
)


class SecretsManagerJson(JsonProtocol):
    lower_first = True


def _context(call: Call) -> Call:
    return call


SERVICE = Service(
    model=OPERATIONS.model,
    protocol=SecretsManagerJson(),
    operations=OPERATIONS,
    errors=ERRORS,
    context=_context,
    constraint_kind="ValidationException",
    authorize=authorize,
)
