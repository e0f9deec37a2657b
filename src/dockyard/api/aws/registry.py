"""One operation registry per service, checked against the service's model.

An operation is registered under its model name with the handler that serves it, the IAM
action a caller needs for it (by default ``<signing name>:<Operation>``, e.g.
``ecr:PutImage``, ``iam:CreateUser``) and how to find the ARN of the resource it acts on,
so that authorization can live in the dispatch rather than in handlers. Registering a name
the model does not have fails at import: a typo never becomes a silently unreachable handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dockyard.api.aws.model import Operation, ServiceModel

__all__ = ["Handler", "OperationRegistry", "Registration", "ResourceArn", "UnknownOperationName"]

C = TypeVar("C")
Handler = Callable[[C, dict[str, Any]], Awaitable[dict[str, Any]]]
#: The ARN of the resource an operation acts on, from its context and request; None for "*".
ResourceArn = Callable[[C, dict[str, Any]], str]


class UnknownOperationName(LookupError):
    """A registration names an operation the service's model does not define."""


@dataclass(frozen=True, slots=True)
class Registration(Generic[C]):
    operation: Operation
    handler: Handler[C]
    #: The IAM action this operation needs, e.g. ``ecr:BatchGetImage``.
    action: str
    #: How to find the resource's ARN; None means the action applies to ``*``.
    resource: ResourceArn[C] | None = None


class OperationRegistry(Mapping[str, Handler[C]]):
    """``name -> handler`` for one service (a read-only mapping), plus each registration."""

    def __init__(self, model: ServiceModel, action_prefix: str | None = None) -> None:
        self.model = model
        self.action_prefix = action_prefix or model.signing_name
        self._registered: dict[str, Registration[C]] = {}

    def operation(
        self, name: str, *, action: str | None = None, resource: ResourceArn[C] | None = None
    ) -> Callable[[Handler[C]], Handler[C]]:
        """Decorator: register a handler for model operation ``name``."""
        found = self.model.operation(name)
        if found is None:
            raise UnknownOperationName(
                f"{self.model.service} has no operation {name!r} in botocore's model"
            )
        if name in self._registered:
            raise ValueError(f"{self.model.service} operation {name} registered twice")
        operation = found

        def register(handler: Handler[C]) -> Handler[C]:
            self._registered[name] = Registration(
                operation, handler, action or f"{self.action_prefix}:{name}", resource
            )
            return handler

        return register

    def registration(self, name: str) -> Registration[C] | None:
        return self._registered.get(name)

    def registrations(self) -> list[Registration[C]]:
        return list(self._registered.values())

    def __getitem__(self, name: str) -> Handler[C]:
        return self._registered[name].handler

    def __iter__(self) -> Iterator[str]:
        return iter(self._registered)

    def __len__(self) -> int:
        return len(self._registered)
