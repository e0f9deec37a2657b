"""IAM as a service of the shared AWS layer: the query protocol, SigV4 name ``iam``, IAM's
errors with codes and statuses from its model (``NoSuchEntity`` is 404)."""

from __future__ import annotations

from dockyard.api.aws.access import authorize_in_account
from dockyard.api.aws.errors import QUERY_AUTH, ErrorMap
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.service import Call, Service
from dockyard.api.iam.operations import OPERATIONS
from dockyard.auth import sigv4
from dockyard.domain import errors as e

ERRORS = ErrorMap(
    model=OPERATIONS.model,
    table={
        **QUERY_AUTH,
        sigv4.ExpiredToken: "ExpiredToken",
        e.AccessDenied: "AccessDenied",
        e.NoSuchEntity: "NoSuchEntityException",
        e.EntityAlreadyExists: "EntityAlreadyExistsException",
        e.DeleteConflict: "DeleteConflictException",
        e.LimitExceeded: "LimitExceededException",
        e.PolicyInvalid: "MalformedPolicyDocumentException",
        e.InvalidRequest: "InvalidInputException",
        e.PaginationInvalid: "InvalidInputException",
    },
    fallback="ServiceFailureException",
)


def _context(call: Call) -> Call:
    return call


SERVICE = Service(
    model=OPERATIONS.model,
    protocol=QueryProtocol(),
    operations=OPERATIONS,
    errors=ERRORS,
    context=_context,
    constraint_kind="ValidationError",
    authorize=authorize_in_account,
)
