"""The AWS query protocol, as IAM and STS speak it: a form in, XML out.

Requests are ``application/x-www-form-urlencoded`` bodies: ``Action=CreateUser&Version=
2010-05-08&UserName=ci``, nested members as ``Parent.Child``, list elements as
``Name.member.N`` (``Name=`` alone for an empty list), map entries as ``Name.entry.N.key``
and ``.value``. ``input_for`` turns that form into the operation's input as typed values
(integers, booleans, timestamps as epoch seconds), which the validator then checks like a
JSON body; a value that cannot be converted is kept as text, so the validator reports it.

Answers are XML in the model's namespace::

    <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <CreateUserResult><User>...</User></CreateUserResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
    </CreateUserResponse>

and errors ``<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>...
</Message></Error><RequestId>...</RequestId></ErrorResponse>`` (``Receiver`` for a 5xx).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import Response

from dockyard.api.aws.model import Operation, ServiceModel, Shape
from dockyard.api.aws.protocols import ProtocolError
from dockyard.api.aws.serialize import to_xml

__all__ = ["QueryProtocol", "parse_form"]

CONTENT_TYPE = "text/xml"
_INDEX = re.compile(r"[1-9][0-9]{0,5}")


def parse_form(raw: bytes) -> dict[str, str]:
    """The form's fields (a repeated field keeps its last value)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("MalformedQueryString", "The request body is not UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            "MalformedQueryString", "The request body is not a valid form"
        ) from None
    return dict(pairs)


class QueryProtocol:
    too_large_code = "RequestEntityTooLarge"
    timeout_code = "RequestTimeout"
    serialization_code = "ValidationError"
    lower_first = True

    def operation_name(self, model: ServiceModel, headers: Mapping[str, str]) -> str | None:
        return None  # named in the body

    def decode(
        self, model: ServiceModel, headers: Mapping[str, str], raw: bytes
    ) -> tuple[str, dict[str, Any]]:
        params = parse_form(raw)
        action = params.pop("Action", "")
        version = params.pop("Version", model.api_version)
        if not action:
            raise ProtocolError("MissingAction", "Missing Action")
        if model.operation(action) is None or version != model.api_version:
            raise ProtocolError(
                "InvalidAction", f"Could not find operation {action} for version {version}"
            )
        return action, params

    def unknown_operation(
        self, model: ServiceModel, headers: Mapping[str, str], name: str
    ) -> ProtocolError:
        return ProtocolError(
            "InvalidAction", f"Could not find operation {name} for version {model.api_version}"
        )

    def input_for(self, operation: Operation, raw: dict[str, Any]) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        value = _structure(shape, raw, "")
        return value if isinstance(value, dict) else {}

    def success(
        self, model: ServiceModel, operation: Operation, request_id: str, result: Mapping[str, Any]
    ) -> Response:
        name = operation.name
        inner = ""
        if operation.output_shape is not None:
            wrapper = operation.result_wrapper or f"{name}Result"
            inner = f"<{wrapper}>{to_xml(operation.output_shape, result)}</{wrapper}>"
        body = (
            f"<{name}Response xmlns={quoteattr(model.xml_namespace)}>{inner}"
            f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
            f"</{name}Response>"
        )
        return self._answer(request_id, 200, body)

    def error(
        self, model: ServiceModel, request_id: str, status: int, code: str, message: str
    ) -> Response:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse xmlns={quoteattr(model.xml_namespace)}><Error><Type>{kind}</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(_xml_text(message))}</Message>"
            f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        )
        return self._answer(request_id, status, body)

    @staticmethod
    def _answer(request_id: str, status: int, body: str) -> Response:
        return Response(
            body,
            status_code=status,
            media_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": request_id},
        )


# XML 1.0 cannot carry most control characters, even escaped; messages that echo input drop them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("?", text)


# --------------------------------------------------------------------------- form -> values


def _child(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _present(params: Mapping[str, str], key: str) -> bool:
    if key in params:
        return True
    dotted = key + "."
    return any(k.startswith(dotted) for k in params)


def _value(shape: Shape, params: Mapping[str, str], key: str) -> Any:
    if shape.type == "structure":
        return _structure(shape, params, key)
    if shape.type == "list":
        return _list(shape, params, key)
    if shape.type == "map":
        return _map(shape, params, key)
    return _scalar(shape, params[key]) if key in params else None


def _structure(shape: Shape, params: Mapping[str, str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = _child(prefix, name)
        if _present(params, key):
            value = _value(member, params, key)
            if value is not None:
                out[name] = value
    return out


def _indices(params: Mapping[str, str], prefix: str) -> list[int]:
    found: set[int] = set()
    for key in params:
        if key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)[0]
            if _INDEX.fullmatch(head):
                found.add(int(head))
    return sorted(found)


def _list(shape: Shape, params: Mapping[str, str], key: str) -> list[Any] | None:
    assert shape.member is not None
    base = f"{key}.member."
    indices = _indices(params, base)
    if not indices:
        return [] if params.get(key) == "" else None
    return [_value(shape.member, params, f"{base}{i}") for i in indices]


def _map(shape: Shape, params: Mapping[str, str], key: str) -> dict[str, Any] | None:
    assert shape.key is not None and shape.value is not None
    base = f"{key}.entry."
    indices = _indices(params, base)
    if not indices:
        return {} if params.get(key) == "" else None
    out: dict[str, Any] = {}
    for i in indices:
        name = params.get(f"{base}{i}.key")
        if name is not None:
            out[name] = _value(shape.value, params, f"{base}{i}.value")
    return out


def _scalar(shape: Shape, text: str) -> Any:
    """A form value as the shape's type; the text itself when it is not one (a type error)."""
    kind = shape.type
    if kind in ("integer", "long"):
        try:
            return int(text) if text.strip() == text else text
        except ValueError:
            return text
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == "timestamp":
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return text
