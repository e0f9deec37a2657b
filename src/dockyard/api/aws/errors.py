"""Domain errors as a service's wire errors: which error, then its code and status.

Each service names, per domain error class, the error shape it answers with (a table, plus
per-operation refinements). The code and HTTP status then come from that shape in the
service's model -- IAM's ``NoSuchEntityException`` is code ``NoSuchEntity``, status 404 --
and only errors the model does not define (the AWS front end's own: authentication,
throttling, unknown operations) take their status from ``FRONT_END_STATUS``.

The front end's authentication errors are spelt differently by the two protocols (ECR:
``UnrecognizedClientException``; IAM and STS: ``InvalidClientTokenId``); ``JSON_AUTH`` and
``QUERY_AUTH`` hold the two spellings for services to include in their tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dockyard.api.aws.model import ServiceModel
from dockyard.auth import sigv4
from dockyard.auth.tokens import TokenInvalid
from dockyard.domain.errors import DockyardError
from dockyard.services.identity import Unauthenticated

__all__ = ["FRONT_END_STATUS", "JSON_AUTH", "QUERY_AUTH", "ErrorMap", "ErrorTable"]

ErrorTable = Mapping[type[DockyardError], str]

JSON_AUTH: ErrorTable = {
    TokenInvalid: "UnrecognizedClientException",
    Unauthenticated: "UnrecognizedClientException",
    sigv4.MissingAuthentication: "MissingAuthenticationTokenException",
    sigv4.IncompleteSignature: "IncompleteSignatureException",
    sigv4.UnknownAccessKey: "UnrecognizedClientException",
    sigv4.InvalidSignature: "InvalidSignatureException",
    sigv4.AuthenticationError: "UnrecognizedClientException",  # any credential failure
}

QUERY_AUTH: ErrorTable = {
    TokenInvalid: "InvalidClientTokenId",
    Unauthenticated: "InvalidClientTokenId",
    sigv4.MissingAuthentication: "MissingAuthenticationToken",
    sigv4.IncompleteSignature: "IncompleteSignature",
    sigv4.UnknownAccessKey: "InvalidClientTokenId",
    sigv4.InvalidSignature: "SignatureDoesNotMatch",
    sigv4.AuthenticationError: "InvalidClientTokenId",
}

#: Statuses of the errors AWS's front end answers for every service (not in the models).
FRONT_END_STATUS: Mapping[str, int] = {
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "AccessDeniedException": 403,
    "ServerException": 500,
    "MissingAuthenticationToken": 403,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "IncompleteSignature": 403,
    "AccessDenied": 403,
    "ExpiredToken": 403,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "Throttling": 400,
}


def _describe(exc: DockyardError) -> str:
    return exc.describe()


@dataclass(frozen=True)
class ErrorMap:
    """One service's domain-error mapping.

    ``table`` maps error classes (looked up along the MRO, so a base class covers its
    subclasses) to error shape names or front-end codes; ``by_operation`` refines it for
    single operations; ``fallback`` answers what neither names (a 500); ``message`` words
    the message (``describe()`` unless a service rewraps some); ``statuses`` gives the
    status of codes neither the model nor ``FRONT_END_STATUS`` knows.
    """

    model: ServiceModel
    table: ErrorTable
    fallback: str
    by_operation: Mapping[str, ErrorTable] = field(default_factory=dict)
    message: Callable[[DockyardError], str] = _describe
    #: Statuses of codes the model does not define, beyond ``FRONT_END_STATUS``.
    statuses: Mapping[str, int] = field(default_factory=dict)

    def name(self, exc: DockyardError, operation: str | None) -> str:
        """The error shape (or front-end code) ``exc`` maps to in ``operation``."""
        refined = self.by_operation.get(operation or "", {})
        for cls in type(exc).__mro__:
            if cls in refined:
                return refined[cls]
            if cls in self.table:
                return self.table[cls]
        return self.fallback

    def wire_error(self, exc: DockyardError, operation: str | None) -> tuple[str, int]:
        """(wire code, HTTP status) for a domain error raised by ``operation``."""
        return self.code_and_status(self.name(exc, operation))

    def code_and_status(self, name: str) -> tuple[str, int]:
        """The wire code and status of an error shape or front-end code ``name``."""
        if self.model.error_shape(name) is not None:
            return self.model.error_code(name), self.model.error_status(name)
        return name, self.statuses.get(name, FRONT_END_STATUS.get(name, 400))
