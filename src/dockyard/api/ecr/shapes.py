"""Botocore's ECR model, and request/response checking against it.

Everything here is driven by ``botocore/data/ecr/<api-version>/service-2.json.gz``; there is
no per-operation code. The model file is read straight from the installed botocore package
(botocore itself is not imported).

Requests
    ``decode_body`` turns the raw body into a JSON object (an empty body is ``{}``) or raises
    ``SerializationError``. ``validate_input`` checks that object against the operation's
    input shape and raises ``ShapeViolation`` whose ``kind`` is the ``__type`` to answer with:

    * ``SerializationException`` -- a value of the wrong JSON type (a number where a string
      belongs, an object where a list belongs, a bad base64 blob, an integer outside Java's
      ``int``/``long``). AWS's JSON front end fails these while deserializing, before any
      constraint is looked at, so a type error wins over every constraint failure.
    * ``InvalidParameterException`` (the default for constraint failures) -- a missing
      required member, a value outside an enum, a length/size/range outside ``min``/``max``, a
      string not matching ``pattern``. This is what ECR actually answers: clients report
      e.g. ``InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy
      constraint: 'must satisfy regular expression '...''``, ``... at 'maxResults' ...
      'Member must have value less than or equal to 1000'``, ``... at 'imageIds' ...
      'Member must have length greater than or equal to 1'``, and ``... at 'registryIds' ...
      'Member must satisfy constraint: [Member must satisfy regular expression pattern:
      [0-9]{12}]'``, including for operations whose model also lists ``ValidationException``.
      ECR reports only the first violation; so do we (``message`` follows that format).
    * ``ValidationException`` -- the generic AWS front-end answer, available with
      ``validate_input(..., constraint_kind="ValidationException")``: every violation is
      reported, as ``N validation errors detected: Value 'x' at 'path' failed to satisfy
      constraint: Member must ...; ...``.

    Member paths are AWS's: camelCase member names joined with ``.``, list elements as
    ``<list>.<1-based index>.member`` (``imageIds.1.member.imageTag``), map values as
    ``<map>.<key>``. A scalar list element or map key/value that breaks a constraint is reported
    at the list/map itself with ``Member must satisfy constraint: [...]`` (``Map keys must ...``,
    ``Map value must ...``), as AWS does.

    Unknown members are ignored, as AWS JSON services do (it is how older servers accept newer
    clients); botocore rejects them client side, we never see them from botocore. JSON ``null``
    counts as absent.

Patterns
    The model's patterns are Java regexes, matched against the whole value
    (``Pattern.matches``), so we ``fullmatch``. They compile with ``re.ASCII`` because Java's
    ``\\w``, ``\\d``, ``\\s`` and ``\\S`` are ASCII-only by default. ``translate_pattern`` also
    rewrites Java-only syntax (``\\z``, ``(?<name>``, ``\\Q...\\E``, ``\\p{Posix}`` classes) should
    the model start using it, and ``PATTERN_REWRITES`` replaces patterns that backtrack
    exponentially in Python's engine with equivalent linear ones. A string longer than its
    ``max`` is not also matched against the pattern (no regex work on oversized input).

Lengths count code points (Python ``len``); blob lengths count decoded bytes.

Responses
    ``serialize_output`` drops ``None`` members and converts ``datetime`` to epoch seconds,
    bytes to base64 and enums to their values. ``check_output`` lists every way a response
    departs from the output shape (unknown members, wrong types, enum/length/range/pattern
    failures, missing required members), one string per problem, for tests.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import gzip
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from dockyard.domain.errors import JsonInvalid
from dockyard.domain.jsontext import parse_json

__all__ = [
    "DEFAULT_CONSTRAINT_KIND",
    "PATTERN_REWRITES",
    "ConstraintKind",
    "EcrModel",
    "ErrorKind",
    "Http",
    "Operation",
    "SerializationError",
    "Shape",
    "ShapeViolation",
    "Violation",
    "check_output",
    "compile_pattern",
    "decode_body",
    "find_violations",
    "load_model",
    "model_path",
    "serialize_output",
    "translate_pattern",
    "validate_input",
]

ErrorKind = Literal["InvalidParameterException", "ValidationException", "SerializationException"]
ConstraintKind = Literal["InvalidParameterException", "ValidationException"]

#: What a constraint failure (required/enum/min/max/pattern) is answered with; see the module
#: docstring for the evidence.
DEFAULT_CONSTRAINT_KIND: ConstraintKind = "InvalidParameterException"

_JAVA_INT = (-(2**31), 2**31 - 1)
_JAVA_LONG = (-(2**63), 2**63 - 1)
#: Values echoed in ValidationException messages are cut to this many characters.
_MAX_RENDERED = 1024


# --------------------------------------------------------------------------- errors


class SerializationError(Exception):
    """The body is not a JSON object: answer ``SerializationException``."""

    kind: Literal["SerializationException"] = "SerializationException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
        return (
            f"Value {_render(self.value)} at '{self.path}' "
            f"failed to satisfy constraint: {self.constraint}"
        )

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


# --------------------------------------------------------------------------- patterns

#: Model patterns that backtrack exponentially in Python's ``re`` (and in Java's), mapped to
#: equivalent patterns that don't. Equivalence is property-tested.
PATTERN_REWRITES: dict[str, str] = {
    # ScanningRepositoryFilterValue. `(?:S?A+)*` with S overlapping A is exponential on
    # "aaaa...!". The language: starts and ends with [a-z0-9*], separators [._\-/] never
    # adjacent -- which `(?:[._\-/]?[a-z0-9*])*` says with disjoint classes.
    r"^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$": r"^[a-z0-9*](?:[._\-/]?[a-z0-9*])*$",
}

_POSIX_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_POSIX_RE = re.compile(r"\\([pP])\{(?:Is)?([A-Za-z]+)\}")


def translate_pattern(pattern: str) -> str:
    """A Java regex as an equivalent Python regex (to compile with ``re.ASCII``)."""
    if pattern in PATTERN_REWRITES:
        return PATTERN_REWRITES[pattern]
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E quotes literally
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
                continue
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Z":  # Java: end, or before a final line terminator
                out.append("(?=\\n?\\Z)")
            elif nxt in "pP":
                m = _POSIX_RE.match(pattern, i)
                if m is None or m.group(2) not in _POSIX_CLASSES:
                    raise ValueError(f"unsupported Java class at {i} in {pattern!r}")
                body = _POSIX_CLASSES[m.group(2)]
                negated = m.group(1) == "P"
                if in_class and negated:
                    raise ValueError(f"negated class inside a class in {pattern!r}")
                out.append(body if in_class else f"[{'^' if negated else ''}{body}]")
                i = m.end()
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "&" and pattern.startswith("&&", i):
                raise ValueError(f"class intersection is not supported: {pattern!r}")
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A leading ']' (or '^]') is literal in both dialects.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        elif c == "(" and pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The model ``pattern`` compiled for ``fullmatch`` with Java's semantics."""
    return re.compile(translate_pattern(pattern), re.ASCII)


# --------------------------------------------------------------------------- the model


@dataclass(eq=False, repr=False)
class Shape:
    """One shape of the model, with member references resolved to shapes."""

    name: str
    type: str
    members: dict[str, Shape] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    member: Shape | None = None
    key: Shape | None = None
    value: Shape | None = None
    enum: tuple[str, ...] = ()
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None
    exception: bool = False
    fault: bool = False

    def __repr__(self) -> str:
        return f"Shape({self.name!r}, {self.type!r})"

    @property
    def regex(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else compile_pattern(self.pattern)


@dataclass(frozen=True, slots=True)
class Http:
    method: str
    request_uri: str


@dataclass(frozen=True, eq=False)
class Operation:
    name: str
    http: Http
    input_shape: Shape | None
    output_shape: Shape | None
    #: Names of the modelled errors, in model order.
    errors: tuple[str, ...]
    deprecated: bool = False
    #: ``X-Amz-Target`` value that selects this operation.
    target: str = ""


class EcrModel:
    """The ECR service model: operations, shapes, errors."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.metadata: Mapping[str, Any] = raw["metadata"]
        self.api_version: str = self.metadata["apiVersion"]
        self.target_prefix: str = self.metadata["targetPrefix"]
        self.signing_name: str = self.metadata.get("signingName", "ecr")
        self.json_version: str = self.metadata.get("jsonVersion", "1.1")
        raw_shapes: Mapping[str, Mapping[str, Any]] = raw["shapes"]
        shapes = {name: _bare_shape(name, spec) for name, spec in raw_shapes.items()}
        for name, spec in raw_shapes.items():
            shape = shapes[name]
            for member, ref in spec.get("members", {}).items():
                shape.members[member] = shapes[ref["shape"]]
            for slot in ("member", "key", "value"):
                if slot in spec:
                    setattr(shape, slot, shapes[spec[slot]["shape"]])
        self.shapes: Mapping[str, Shape] = shapes
        ops: dict[str, Operation] = {}
        for name, spec in raw["operations"].items():
            http = spec.get("http", {})
            ops[name] = Operation(
                name=name,
                http=Http(http.get("method", "POST"), http.get("requestUri", "/")),
                input_shape=shapes[spec["input"]["shape"]] if "input" in spec else None,
                output_shape=shapes[spec["output"]["shape"]] if "output" in spec else None,
                errors=tuple(e["shape"] for e in spec.get("errors", ())),
                deprecated=bool(spec.get("deprecated", False)),
                target=f"{self.target_prefix}.{name}",
            )
        self.operations: Mapping[str, Operation] = ops
        self._errors = frozenset(n for n, s in shapes.items() if s.exception)

    @classmethod
    def from_file(cls, path: str | Path) -> EcrModel:
        data = Path(path).read_bytes()
        return cls(json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data))

    def operation(self, name: str) -> Operation | None:
        """The operation called ``name`` (case-sensitive), or None: UnknownOperationException."""
        return self.operations.get(name)

    def operation_for_target(self, target: str) -> Operation | None:
        """The operation an ``X-Amz-Target`` header selects, or None."""
        prefix, dot, name = target.rpartition(".")
        if not dot or prefix != self.target_prefix:
            return None
        return self.operation(name)

    def shape(self, name: str) -> Shape:
        return self.shapes[name]

    def error_names(self) -> frozenset[str]:
        """Names of the error shapes the model defines."""
        return self._errors

    def error_status(self, name: str) -> int:
        """HTTP status for a modelled error: 500 for faults (ServerException), else 400."""
        shape = self.shapes.get(name)
        return 500 if shape is not None and shape.fault else 400


def _bare_shape(name: str, spec: Mapping[str, Any]) -> Shape:
    pattern = spec.get("pattern")
    if pattern is not None:
        compile_pattern(pattern)  # fail at load time, not on the first request
    return Shape(
        name=name,
        type=spec["type"],
        required=frozenset(spec.get("required", ())),
        enum=tuple(spec.get("enum", ())),
        min=spec.get("min"),
        max=spec.get("max"),
        pattern=pattern,
        exception=bool(spec.get("exception", False)),
        fault=bool(spec.get("fault", False)),
    )


def model_path() -> Path:
    """The newest ECR service model inside the installed botocore package."""
    root = resources.files("botocore").joinpath("data", "ecr")
    versions = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not versions:
        raise FileNotFoundError("botocore has no ECR model")
    folder = root.joinpath(versions[-1])
    for candidate in ("service-2.json.gz", "service-2.json"):
        path = folder.joinpath(candidate)
        if path.is_file():
            return Path(str(path))
    raise FileNotFoundError(f"no service-2.json(.gz) in {folder}")


@functools.cache
def load_model() -> EcrModel:
    """The ECR model, loaded once."""
    return EcrModel.from_file(model_path())


def _resolve(operation: Operation | str) -> Operation:
    if isinstance(operation, Operation):
        return operation
    found = load_model().operation(operation)
    if found is None:
        raise ValueError(f"unknown ECR operation {operation!r}")
    return found


# --------------------------------------------------------------------------- requests


# How large a request body can legitimately be, from the model's own limits. Only two
# operations carry more than a few kilobytes: UploadLayerPart (a layer part, base64) and
# PutImage (a manifest, as an escaped JSON string).
#
# JSON escaping grows text by at most 3 bytes per UTF-8 byte: a quote or backslash doubles,
# a 2-byte character becomes a 6-byte \uXXXX escape, a 4-byte one a 12-byte surrogate pair.
_ESCAPE_GROWTH = 3
# Everything beside the one large member (names, ids, digests, media types), escaped.
_ENVELOPE = 64 << 10
# Every other operation: the model's longest texts are a lifecycle policy (30,720
# characters), a repository policy (10,240) and 200 resource tags of at most 384
# characters, under 1 MiB together even at 6 bytes a character.
OTHER_BODY_LIMIT = 2 << 20


def body_limit(operation: str | None) -> int:
    """The most bytes a legitimate request body for ``operation`` can have.

    UploadLayerPart: the model's part limit (20 MiB) in base64, ~26.7 MiB. PutImage: a
    manifest at the model's limit (4 MiB) escaped, 12 MiB. Each plus ``_ENVELOPE``.
    """
    model = load_model()
    if operation == "UploadLayerPart":
        part = model.shape("LayerPartBlob").max
        assert part is not None
        return 4 * math.ceil(part / 3) + _ENVELOPE
    if operation == "PutImage":
        manifest = model.shape("ImageManifest").max
        assert manifest is not None
        return _ESCAPE_GROWTH * int(manifest) + _ENVELOPE
    return OTHER_BODY_LIMIT


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
        raise SerializationError(_type_message(value, "structure"))
    return value


def find_violations(operation: Operation | str, body: Mapping[str, Any]) -> list[Violation]:
    """Every way ``body`` departs from the operation's input shape, in model member order."""
    op = _resolve(operation)
    if op.input_shape is None:
        return []
    checker = _Checker(output=False)
    checker.check(op.input_shape, body, "")
    return checker.found


def validate_input(
    operation: Operation | str,
    body: Any,
    *,
    constraint_kind: ConstraintKind = DEFAULT_CONSTRAINT_KIND,
) -> None:
    """Raise ``ShapeViolation`` unless ``body`` satisfies the operation's input shape."""
    if not isinstance(body, Mapping):
        message = _type_message(body, "structure")
        raise ShapeViolation("", message, "SerializationException", message=message)
    found = find_violations(operation, body)
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
    if constraint_kind == "ValidationException":
        count = len(found)
        message = f"{count} validation error{'' if count == 1 else 's'} detected: " + "; ".join(
            v.validation_text() for v in found
        )
        raise ShapeViolation(
            first.path, first.constraint, "ValidationException", message=message, violations=found
        )
    raise ShapeViolation(
        first.path,
        first.ecr_constraint,
        "InvalidParameterException",
        message=first.invalid_parameter_text(),
        violations=found,
    )


# --------------------------------------------------------------------------- responses


def serialize_output(operation: Operation | str, value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as the JSON response body: no ``None`` members, timestamps as epoch seconds."""
    _resolve(operation)
    return {str(k): _to_wire(v) for k, v in value.items() if v is not None}


def check_output(operation: Operation | str, value: Mapping[str, Any]) -> list[str]:
    """Every way ``value`` departs from the operation's output shape, as ``path: problem``.

    Accepts the value before or after ``serialize_output`` (``datetime``/bytes/``None`` are
    fine). An empty list means the response matches the model.
    """
    op = _resolve(operation)
    if op.output_shape is None:
        return [f"{k}: the operation has no output" for k, v in value.items() if v is not None]
    checker = _Checker(output=True)
    checker.check(op.output_shape, value, "")
    return [f"{v.path or '<body>'}: {v.detail}" for v in checker.found]


def _to_wire(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _to_wire(value.value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return stamp.timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} in an ECR response")


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


def _type_message(value: Any, expected: str) -> str:
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

    def __init__(self, *, output: bool) -> None:
        self.output = output
        self.found: list[Violation] = []

    def add(self, path: str, value: Any, fault: _Fault) -> None:
        self.found.append(Violation(path, value, fault[0], fault[1], fault[0]))

    def type_error(self, shape: Shape, value: Any, path: str) -> None:
        message = _type_message(value, shape.type)
        detail = f"expected {shape.type} ({shape.name}), got {type(value).__name__} {value!r:.80}"
        self.found.append(Violation(path, value, message, message, detail, type_error=True))

    def check(self, shape: Shape, value: Any, path: str) -> None:
        """Check a present (non-null) value."""
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
            if item is None:
                if name in shape.required:
                    self.add(prefix + name, None, ("Member must not be null",) * 2)
                continue
            self.check(member, item, prefix + name)
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
