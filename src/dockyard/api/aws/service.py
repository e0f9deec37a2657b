"""What the shared endpoint needs to know about one AWS service it serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dockyard.api.aws.errors import ErrorMap
from dockyard.api.aws.model import ServiceModel
from dockyard.api.aws.protocols import Protocol
from dockyard.api.aws.registry import OperationRegistry, Registration
from dockyard.api.aws.validate import ConstraintKind
from dockyard.domain.identity import Caller
from dockyard.services import Registry

__all__ = ["DEFAULT_BODY_LIMIT", "Authorize", "Call", "Service"]

#: The most bytes a request body may have unless the service says otherwise: well above
#: any legitimate request of the control-plane APIs served here (IAM's longest member, a
#: 131,072-character policy document, is 1.2 MB percent-encoded even at 3 UTF-8 bytes a
#: character), and small enough that a body is never a memory problem.
DEFAULT_BODY_LIMIT = 2 << 20


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated call, before the service makes its handlers' context of it."""

    registry: Registry
    caller: Caller
    operation: str
    public_url: str
    request_id: str
    #: The region the call is signed for: an ECR call acts on that region's registry.
    region: str
    #: What policy conditions may ask of the request (aws:SourceIp, aws:SecureTransport).
    source_ip: str | None = None
    secure_transport: bool = False


#: The authorization step of the dispatch: raise (``AccessDenied``) unless the call may run
#: the registered operation (its ``action`` on its ``resource``) with this input.
Authorize = Callable[[Call, "Registration[Any]", dict[str, Any]], Awaitable[None]]


def _default_limit(_operation: str | None) -> int:
    return DEFAULT_BODY_LIMIT


@dataclass(frozen=True, eq=False)
class Service:
    """One door: a model, the protocol it speaks, its operations and its errors.

    ``context`` makes the handlers' context of a ``Call``; ``body_limit`` bounds the body of
    an operation (``None`` when the operation is not known before the body is read);
    ``constraint_kind`` is the code constraint failures are answered with; ``authorize``,
    when set, runs after the input is validated and before the handler.
    """

    model: ServiceModel
    protocol: Protocol
    operations: OperationRegistry[Any]
    errors: ErrorMap
    context: Callable[[Call], Any]
    constraint_kind: ConstraintKind
    body_limit: Callable[[str | None], int] = _default_limit
    authorize: Authorize | None = None

    @property
    def name(self) -> str:
        return self.model.service

    @property
    def signing_name(self) -> str:
        return self.model.signing_name
