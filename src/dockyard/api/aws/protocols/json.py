"""AWS JSON 1.1: the operation in ``X-Amz-Target``, a JSON object in, a JSON object out.

Errors are ``{"__type": code, "message": ...}`` with the error's status (``Message`` for a
service whose model spells it so). An empty body is
``{}``; a body that is not a JSON object is ``SerializationException``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from dockyard.api.aws.model import Operation, ServiceModel
from dockyard.api.aws.protocols import ProtocolError
from dockyard.api.aws.serialize import to_json
from dockyard.api.aws.validate import SerializationError, type_message
from dockyard.domain.errors import JsonInvalid
from dockyard.domain.jsontext import parse_json

__all__ = ["JsonProtocol", "decode_body"]


def decode_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; empty (or blank) is ``{}``."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializationError("Request body is not valid UTF-8") from exc
    try:
        value = parse_json(text)
    except JsonInvalid as exc:
        raise SerializationError("Request body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise SerializationError(type_message(value, "structure"))
    return value


class JsonProtocol:
    too_large_code = "RequestEntityTooLargeException"
    timeout_code = "RequestTimeoutException"  # botocore retries it, as it should a stall
    serialization_code = "SerializationException"
    lower_first = False

    def content_type(self, model: ServiceModel) -> str:
        return f"application/x-amz-json-{model.json_version}"

    def operation_name(self, model: ServiceModel, headers: Mapping[str, str]) -> str | None:
        target = headers.get("x-amz-target", "")
        prefix, dot, name = target.rpartition(".")
        return name if dot and prefix == model.target_prefix else None

    def decode(
        self, model: ServiceModel, headers: Mapping[str, str], raw: bytes
    ) -> tuple[str, dict[str, Any]]:
        # The operation is judged before the body: an unknown target is that, whatever follows.
        name = self.operation_name(model, headers)
        if name is None or model.operation(name) is None:
            raise self.unknown_operation(model, headers, name or "")
        return name, decode_body(raw)

    def unknown_operation(
        self, model: ServiceModel, headers: Mapping[str, str], name: str
    ) -> ProtocolError:
        target = headers.get("x-amz-target", "")
        return ProtocolError("UnknownOperationException", f"Unknown operation {target!r}")

    def input_for(self, operation: Operation, raw: dict[str, Any]) -> dict[str, Any]:
        return raw

    def success(
        self, model: ServiceModel, operation: Operation, request_id: str, result: Mapping[str, Any]
    ) -> Response:
        return self._answer(model, request_id, 200, to_json(result))

    def error(
        self, model: ServiceModel, request_id: str, status: int, code: str, message: str
    ) -> Response:
        body = {"__type": code, model.error_message_member: message}
        return self._answer(model, request_id, status, body)

    def _answer(
        self, model: ServiceModel, request_id: str, status: int, body: dict[str, Any]
    ) -> Response:
        return Response(
            json.dumps(body, separators=(",", ":")),
            status_code=status,
            media_type=self.content_type(model),
            headers={"x-amzn-RequestId": request_id},
        )
