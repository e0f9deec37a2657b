"""The AWS wire protocols a service can speak: ``json`` (AWS JSON 1.1) and ``query``.

Both offer the same four things to the endpoint (``Protocol``): which operation a request
names, its input as plain values, a success answer and an error answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from typing import Protocol as _Protocol

from starlette.responses import Response

from dockyard.api.aws.model import Operation, ServiceModel

__all__ = ["Protocol", "ProtocolError"]


class ProtocolError(Exception):
    """A request the protocol cannot read, or one naming no operation of the service
    (``code``, ``message`` and ``status``: the answer)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Protocol(_Protocol):
    #: Codes for a body that is too large, too slow, or never finished.
    too_large_code: str
    timeout_code: str
    #: Code for a value of the wrong type (the JSON front end's SerializationException).
    serialization_code: str
    #: Whether member paths in validation messages start lower-case (query services do).
    lower_first: bool

    def operation_name(self, model: ServiceModel, headers: Mapping[str, str]) -> str | None:
        """The operation the headers name, if the protocol names it there (before the body)."""

    def unknown_operation(
        self, model: ServiceModel, headers: Mapping[str, str], name: str
    ) -> ProtocolError:
        """The answer to a request for an operation this service does not serve."""

    def decode(
        self, model: ServiceModel, headers: Mapping[str, str], raw: bytes
    ) -> tuple[str, dict[str, Any]]:
        """(operation name, input) from the request; ``ProtocolError`` if it names none or
        cannot be read, ``SerializationError`` for a JSON body that is not an object."""

    def input_for(self, operation: Operation, raw: dict[str, Any]) -> dict[str, Any]:
        """The decoded input shaped as the operation's input (the query form's strings as
        typed values); JSON input is already typed."""

    def success(
        self, model: ServiceModel, operation: Operation, request_id: str, result: Mapping[str, Any]
    ) -> Response: ...

    def error(
        self, model: ServiceModel, request_id: str, status: int, code: str, message: str
    ) -> Response: ...
