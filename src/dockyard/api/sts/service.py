"""STS as a service of the shared AWS layer: the query protocol, SigV4 name ``sts``.

GetCallerIdentity needs no permission, as in AWS. AssumeRole is one policy decision like
every other request (``registry.authz``, asked by ``registry.iam.assume_role``): the role's
trust policy must allow the caller, and so must the caller's identity policies unless the
trust policy names the caller itself. A trust policy naming an account lets in only those
of its principals whose policies allow it, as in AWS.
"""

from __future__ import annotations

from dockyard.api.aws.errors import QUERY_AUTH, ErrorMap
from dockyard.api.aws.protocols.query import QueryProtocol
from dockyard.api.aws.service import Call, Service
from dockyard.api.sts.operations import OPERATIONS
from dockyard.auth import sigv4
from dockyard.domain import errors as e

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


def _context(call: Call) -> Call:
    return call


SERVICE = Service(
    model=OPERATIONS.model,
    protocol=QueryProtocol(),
    operations=OPERATIONS,
    errors=ERRORS,
    context=_context,
    constraint_kind="ValidationError",
)
