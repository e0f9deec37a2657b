"""Request and response checking against a service model's shapes.

``validate_input`` checks a decoded request (JSON, or a query form already turned into
values by its protocol) against the operation's input shape and raises ``ShapeViolation``
whose ``kind`` is the error code to answer with:

* ``SerializationException`` -- a value of the wrong type (a number where a string belongs,
  an object where a list belongs, a bad base64 blob, an integer outside Java's ``int`` /
  ``long``). AWS's front ends fail these while deserializing, before any constraint is looked
  at, so a type error wins over every constraint failure.
* ``InvalidParameterException`` -- ECR's answer to a constraint failure (a missing required
  member, a value outside an enum, a length/size/range outside ``min``/``max``, a string not
  matching ``pattern``): ``Invalid parameter at 'repositoryName' failed to satisfy
  constraint: 'must satisfy regular expression '...''``. Only the first violation is reported.
* ``ValidationException`` (JSON services) or ``ValidationError`` (IAM and STS) -- the generic
  AWS front-end answer: every violation, as ``N validation errors detected: Value 'x' at
  'path' failed to satisfy constraint: Member must ...; ...``.

Member paths are AWS's: member names joined with ``.``, list elements as ``<list>.<1-based
index>.member``, map values as ``<map>.<key>``; a query service's PascalCase members are
named with a lower-case first letter (``userName``), as IAM does. A scalar list element or
map key/value that breaks a constraint is reported at the list/map itself with ``Member must
satisfy constraint: [...]``, as AWS does. Unknown members are ignored; ``None`` is absent.

Lengths count code points (Python ``len``); blob lengths count decoded bytes. A string longer
than its ``max`` is not also matched against the pattern (no regex work on oversized input).

``check_output`` lists every way a response departs from the output shape (unknown members,
wrong types, enum/length/range/pattern failures, missing required members), one string per
problem, for tests.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from dockyard.api.aws.model import Operation, Shape
from dockyard.api.aws.patterns import compile_pattern

__all__ = [
    "DEFAULT_CONSTRAINT_KIND",
    "HIDDEN",
    "ConstraintKind",
    "ErrorKind",
    "SerializationError",
    "ShapeViolation",
    "Violation",
    "check_output",
    "find_violations",
    "type_message",
    "validate_input",
]

ErrorKind = Literal[
    "InvalidParameterException", "ValidationException", "ValidationError", "SerializationException"
]
ConstraintKind = Literal["InvalidParameterException", "ValidationException", "ValidationError"]

#: What a constraint failure (required/enum/min/max/pattern) is answered with by default
#: (ECR's answer; see the module docstring).
DEFAULT_CONSTRAINT_KIND: ConstraintKind = "InvalidParameterException"

_JAVA_INT = (-(2**31), 2**31 - 1)
_JAVA_LONG = (-(2**63), 2**63 - 1)
#: Values echoed in ValidationException messages are cut to this many characters.
_MAX_RENDERED = 1024


class SerializationError(Exception):
    """The body is not a JSON object: answer ``SerializationException``."""

    kind: Literal["SerializationException"] = "SerializationException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Hidden:
    def __repr__(self) -> str:
        return "<sensitive>"


#: The value of a violation in a ``sensitive`` member: never rendered.
HIDDEN: Any = _Hidden()


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a value departs from its shape.

    ``constraint`` is AWS's wording (``Member must ...``; for a type error, the
    SerializationException message), ``ecr_constraint`` ECR's InvalidParameterException wording,
    ``detail`` a plain description for humans and ``check_output``.
    """

    path: str
    value: Any
    constraint: str
    ecr_constraint: str
    detail: str
    type_error: bool = False

    def validation_text(self) -> str:
        """One clause of a ValidationException message."""
        value = "" if self.value is HIDDEN else f" {_render(self.value)}"
        return f"Value{value} at '{self.path}' failed to satisfy constraint: {self.constraint}"

    def invalid_parameter_text(self) -> str:
        """ECR's InvalidParameterException message for this violation."""
        return (
            f"Invalid parameter at '{self.path}' failed to satisfy constraint: "
            f"'{self.ecr_constraint}'"
        )


class ShapeViolation(Exception):
    """A request body breaks its operation's input shape.

    ``kind`` is the error code to answer with (``__type``), ``message`` the error message,
    ``member_path``/``reason`` the first violation, ``violations`` all that were found (all of
    the same class: type errors, or constraint failures).
    """

    def __init__(
        self,
        member_path: str,
        reason: str,
        kind: ErrorKind,
        *,
        message: str | None = None,
        violations: Sequence[Violation] = (),
    ) -> None:
        self.member_path = member_path
        self.reason = reason
        self.kind: ErrorKind = kind
        if message is None:
            message = (
                reason
                if kind == "SerializationException"
                else f"Invalid parameter at '{member_path}' failed to satisfy constraint: "
                f"'{reason}'"
            )
        self.message = message
        self.violations = tuple(violations)
        super().__init__(message)


# --------------------------------------------------------------------------- requests


def find_violations(
    operation: Operation, body: Mapping[str, Any], *, lower_first: bool = False
) -> list[Violation]:
    """Every way ``body`` departs from the operation's input shape, in model member order.

    ``lower_first`` names members with a lower-case first letter, as query services do."""
    if operation.input_shape is None:
        return []
    checker = _Checker(output=False, lower_first=lower_first)
    checker.check(operation.input_shape, body, "")
    return checker.found


def validate_input(
    operation: Operation,
    body: Any,
    *,
    constraint_kind: ConstraintKind = DEFAULT_CONSTRAINT_KIND,
    lower_first: bool = False,
) -> None:
    """Raise ``ShapeViolation`` unless ``body`` satisfies the operation's input shape."""
    if not isinstance(body, Mapping):
        message = type_message(body, "structure")
        raise ShapeViolation("", message, "SerializationException", message=message)
    found = find_violations(operation, body, lower_first=lower_first)
    if not found:
        return
    type_errors = [v for v in found if v.type_error]
    if type_errors:
        first = type_errors[0]
        raise ShapeViolation(
            first.path,
            first.constraint,
            "SerializationException",
            message=first.constraint,
            violations=type_errors,
        )
    first = found[0]
    if constraint_kind != "InvalidParameterException":
        count = len(found)
        message = f"{count} validation error{'' if count == 1 else 's'} detected: " + "; ".join(
            v.validation_text() for v in found
        )
        raise ShapeViolation(
            first.path, first.constraint, constraint_kind, message=message, violations=found
        )
    raise ShapeViolation(
        first.path,
        first.ecr_constraint,
        "InvalidParameterException",
        message=first.invalid_parameter_text(),
        violations=found,
    )


# --------------------------------------------------------------------------- responses


def check_output(operation: Operation, value: Mapping[str, Any]) -> list[str]:
    """Every way ``value`` departs from the operation's output shape, as ``path: problem``.

    Accepts the value before or after serialization (``datetime``/bytes/``None`` are fine).
    An empty list means the response matches the model.
    """
    if operation.output_shape is None:
        return [f"{k}: the operation has no output" for k, v in value.items() if v is not None]
    checker = _Checker(output=True)
    checker.check(operation.output_shape, value, "")
    return [f"{v.path or '<body>'}: {v.detail}" for v in checker.found]


# --------------------------------------------------------------------------- checking

_Fault = tuple[str, str]  # (AWS wording, ECR wording)

_JAVA_TYPES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "double": "a Double",
    "float": "a Float",
    "boolean": "a Boolean",
    "timestamp": "a Date",
    "blob": "a ByteBuffer",
    "structure": "a Structure",
    "list": "a List",
    "map": "a Map",
}


def type_message(value: Any, expected: str) -> str:
    """AWS's SerializationException wording for a value of the wrong JSON type."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    if isinstance(value, bool):
        token = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, int | float):
        token = "NUMBER_VALUE"
    elif isinstance(value, str):
        token = "STRING_VALUE"
    else:
        token = "VALUE_NULL" if value is None else type(value).__name__
    return f"{token} can not be converted to {_JAVA_TYPES.get(expected, 'a ' + expected)}"


def _render(value: Any) -> str:
    """A value as AWS echoes it in ValidationException messages."""
    if value is None:
        return "null"
    text = _java_text(value)
    if len(text) > _MAX_RENDERED:
        text = text[:_MAX_RENDERED] + "..."
    return f"'{text}'"


def _java_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


def _num(limit: int | float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def _length_faults(shape: Shape, length: int, *, string: bool) -> Iterator[_Fault]:
    # ECR words string constraints without "Member" ('must have length greater than or equal
    # to 2'); list and map constraints with it, like the rest of AWS.
    lead = "" if string else "Member "
    if shape.min is not None and length < shape.min:
        text = f"must have length greater than or equal to {_num(shape.min)}"
        yield f"Member {text}", f"{lead}{text}"
    if shape.max is not None and length > shape.max:
        text = f"must have length less than or equal to {_num(shape.max)}"
        yield f"Member {text}", f"{lead}{text}"


class _Checker:
    """Walks a value along a shape and collects ``Violation``s.

    Input mode follows AWS: unknown members ignored, JSON types strict. Output mode also
    reports unknown members and accepts Python values (``datetime``, bytes) that
    ``serialize_output`` converts.
    """

    def __init__(self, *, output: bool, lower_first: bool = False) -> None:
        self.output = output
        self.lower_first = lower_first
        self.found: list[Violation] = []

    def add(self, path: str, value: Any, fault: _Fault) -> None:
        self.found.append(Violation(path, value, fault[0], fault[1], fault[0]))

    def type_error(self, shape: Shape, value: Any, path: str) -> None:
        message = type_message(value, shape.type)
        detail = f"expected {shape.type} ({shape.name}), got {type(value).__name__} {value!r:.80}"
        self.found.append(Violation(path, value, message, message, detail, type_error=True))

    def check(self, shape: Shape, value: Any, path: str) -> None:
        """Check a present (non-null) value."""
        if shape.sensitive:
            # A secret is never echoed back, not even to say it is wrong: AWS words these
            # "Value at 'password' failed to satisfy constraint: ...".
            first = len(self.found)
            self.check_value(shape, value, path)
            self.found[first:] = [
                replace(v, value=HIDDEN, detail=f"{v.path}: a sensitive value breaks its shape")
                for v in self.found[first:]
            ]
        else:
            self.check_value(shape, value, path)

    def check_value(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type
        if kind == "structure":
            if not isinstance(value, Mapping):
                self.type_error(shape, value, path)
            else:
                self.check_structure(shape, value, path)
        elif kind == "list":
            if not isinstance(value, list | tuple if self.output else list):
                self.type_error(shape, value, path)
            else:
                self.check_list(shape, value, path)
        elif kind == "map":
            if not isinstance(value, Mapping):
                self.type_error(shape, value, path)
            else:
                self.check_map(shape, value, path)
        else:
            faults = self.scalar(shape, value)
            if faults is None:
                self.type_error(shape, value, path)
            else:
                for fault in faults:
                    self.add(path, value, fault)

    def check_structure(self, shape: Shape, value: Mapping[str, Any], path: str) -> None:
        prefix = f"{path}." if path else ""
        for name, member in shape.members.items():
            item = value.get(name)
            wire = name[:1].lower() + name[1:] if self.lower_first else name
            if item is None:
                if name in shape.required:
                    self.add(prefix + wire, None, ("Member must not be null",) * 2)
                continue
            self.check(member, item, prefix + wire)
        if self.output:
            for name in value:
                if name not in shape.members:
                    self.found.append(
                        Violation(
                            f"{prefix}{name}",
                            value[name],
                            "unknown member",
                            "unknown member",
                            f"not a member of {shape.name} "
                            f"(members: {', '.join(shape.members) or 'none'})",
                        )
                    )

    def check_list(self, shape: Shape, value: Sequence[Any], path: str) -> None:
        for fault in _length_faults(shape, len(value), string=False):
            self.add(path, value, fault)
        element = shape.member
        assert element is not None
        inner: list[str] = []
        for index, item in enumerate(value, start=1):
            where = f"{path}.{index}.member"
            if item is None:
                self.add(where, None, ("Member must not be null",) * 2)
            elif element.type in ("structure", "list", "map"):
                self.check(element, item, where)
            else:
                faults = self.scalar(element, item)
                if faults is None:
                    self.type_error(element, item, where)
                else:
                    inner.extend(f[0] for f in faults if f[0] not in inner)
        if inner:
            text = f"Member must satisfy constraint: [{', '.join(inner)}]"
            self.add(path, value, (text, text))

    def check_map(self, shape: Shape, value: Mapping[Any, Any], path: str) -> None:
        for fault in _length_faults(shape, len(value), string=False):
            self.add(path, value, fault)
        key_shape, value_shape = shape.key, shape.value
        assert key_shape is not None and value_shape is not None
        key_faults: list[str] = []
        value_faults: list[str] = []
        for key, item in value.items():
            faults = self.scalar(key_shape, key)
            if faults is None:
                self.type_error(key_shape, key, path)
            else:
                key_faults.extend(f[0] for f in faults if f[0] not in key_faults)
            where = f"{path}.{key}"
            if item is None:
                self.add(where, None, ("Member must not be null",) * 2)
            elif value_shape.type in ("structure", "list", "map"):
                self.check(value_shape, item, where)
            else:
                faults = self.scalar(value_shape, item)
                if faults is None:
                    self.type_error(value_shape, item, where)
                else:
                    value_faults.extend(f[0] for f in faults if f[0] not in value_faults)
        if key_faults:
            text = f"Map keys must satisfy constraint: [{', '.join(key_faults)}]"
            self.add(path, value, (text, text))
        if value_faults:
            text = f"Map value must satisfy constraint: [{', '.join(value_faults)}]"
            self.add(path, value, (text, text))

    def scalar(self, shape: Shape, value: Any) -> list[_Fault] | None:
        """Constraint failures of a scalar, or None if it has the wrong type."""
        kind = shape.type
        if kind == "string":
            if not isinstance(value, str):
                return None
            return list(self.check_string(shape, value))
        if kind in ("integer", "long"):
            number = _integral(value)
            low, high = _JAVA_INT if kind == "integer" else _JAVA_LONG
            if number is None or not low <= number <= high:
                return None
            return list(_range_faults(shape, number))
        if kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return list(_range_faults(shape, value))
        if kind == "boolean":
            return [] if isinstance(value, bool) else None
        if kind == "timestamp":
            if self.output and isinstance(value, datetime):
                return []
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else None
        if kind == "blob":
            size = _blob_size(value, output=self.output)
            if size is None:
                return None
            return list(_length_faults(shape, size, string=False))
        return []  # a type this validator does not know: accept

    @staticmethod
    def check_string(shape: Shape, value: str) -> Iterator[_Fault]:
        if shape.enum and value not in shape.enum:
            text = f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            yield text, text
        too_long = shape.max is not None and len(value) > shape.max
        yield from _length_faults(shape, len(value), string=True)
        pattern = None if too_long else shape.pattern
        if pattern is not None and compile_pattern(pattern).fullmatch(value) is None:
            yield (
                f"Member must satisfy regular expression pattern: {pattern}",
                f"must satisfy regular expression '{pattern}'",
            )


def _integral(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _range_faults(shape: Shape, number: int | float) -> Iterator[_Fault]:
    if shape.min is not None and number < shape.min:
        text = f"Member must have value greater than or equal to {_num(shape.min)}"
        yield text, text
    if shape.max is not None and number > shape.max:
        text = f"Member must have value less than or equal to {_num(shape.max)}"
        yield text, text


def _blob_size(value: Any, *, output: bool) -> int | None:
    if output and isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if not isinstance(value, str):
        return None
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None
