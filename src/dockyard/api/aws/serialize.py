"""Handler results as wire values: JSON values, or XML text shaped by the output shape.

Handlers return plain values (``dict``/``list``, ``str``, numbers, ``bool``, ``datetime``,
``bytes``, enums, ``None`` for absent). Both forms drop ``None`` members; they differ in
timestamps (JSON: epoch seconds; XML: ISO 8601 UTC, as IAM and STS send them) and in how
lists and maps are spelt (XML: ``<member>`` elements, ``<entry><key/><value/></entry>``).
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from dockyard.api.aws.model import Shape

__all__ = ["iso8601", "to_json", "to_xml"]


def to_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as a JSON response body: no ``None`` members, timestamps as epoch seconds."""
    return {str(k): _json_value(v) for k, v in value.items() if v is not None}


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _json_value(value.value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return _utc(value).timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} in a JSON response")


def iso8601(moment: datetime) -> str:
    """A timestamp as the query protocol's XML gives it: ``2026-01-02T03:04:05Z``."""
    stamp = _utc(moment)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.microsecond:
        text += f".{stamp.microsecond // 1000:03d}"
    return text + "Z"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_xml(shape: Shape, value: Mapping[str, Any]) -> str:
    """The members of structure ``value`` as XML elements, in the shape's member order.

    Members the shape does not have are left out (``check_output`` reports them in tests).
    """
    parts: list[str] = []
    _structure(shape, value, parts)
    return "".join(parts)


def _structure(shape: Shape, value: Mapping[str, Any], out: list[str]) -> None:
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            out.append(f"<{name}>")
            _value(member, item, out)
            out.append(f"</{name}>")


def _value(shape: Shape, value: Any, out: list[str]) -> None:
    if shape.type == "structure":
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape.name}: expected a mapping, got {type(value).__name__}")
        _structure(shape, value, out)
    elif shape.type == "list":
        assert shape.member is not None
        for item in value:
            out.append("<member>")
            _value(shape.member, item, out)
            out.append("</member>")
    elif shape.type == "map":
        assert shape.key is not None and shape.value is not None
        for key, item in value.items():
            out.append("<entry><key>")
            _value(shape.key, key, out)
            out.append("</key><value>")
            _value(shape.value, item, out)
            out.append("</value></entry>")
    else:
        out.append(escape(_scalar(shape, value)))


def _scalar(shape: Shape, value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso8601(value)
    if shape.type == "timestamp" and isinstance(value, int | float):
        return iso8601(datetime.fromtimestamp(value, UTC))
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"cannot put a {type(value).__name__} in {shape.name}")
