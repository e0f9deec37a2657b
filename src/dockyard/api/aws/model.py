"""Botocore's service models: operations, shapes and errors, for any AWS service.

A model is read straight from ``botocore/data/<service>/<api-version>/service-2.json(.gz)``
inside the installed botocore package (botocore itself is not imported), once per service.
Nothing about an operation is described by hand: the model is the only source of shapes,
of each error's code and HTTP status, and of which members are ``sensitive``.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dockyard.api.aws.patterns import check_pattern, compile_pattern

__all__ = ["Http", "Operation", "ServiceModel", "Shape", "load_model", "model_path"]


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
    #: The ``sensitive`` trait: the value is a secret (a secret key, a password, a token)
    #: and never goes into a log.
    sensitive: bool = False
    #: For error shapes: the wire code and HTTP status the model gives (``error`` trait).
    error_code: str | None = None
    error_status: int | None = None
    sender_fault: bool = False

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
    #: ``X-Amz-Target`` value that selects this operation (JSON services; "" otherwise).
    target: str = ""
    #: Query protocol: the element the output is wrapped in (``CreateUserResult``).
    result_wrapper: str | None = None


class ServiceModel:
    """One service's model: operations, shapes, errors, protocol metadata."""

    def __init__(self, raw: Mapping[str, Any], service: str = "") -> None:
        self.metadata: Mapping[str, Any] = raw["metadata"]
        self.service = service or str(self.metadata.get("endpointPrefix", ""))
        self.api_version: str = self.metadata["apiVersion"]
        self.protocol: str = self.metadata.get("protocol", "json")
        self.target_prefix: str = self.metadata.get("targetPrefix", "")
        # SigV4's service name: signingName where the model gives one, else the endpoint prefix.
        self.signing_name: str = self.metadata.get(
            "signingName", self.metadata.get("endpointPrefix", service)
        )
        self.json_version: str = self.metadata.get("jsonVersion", "1.1")
        self.xml_namespace: str = self.metadata.get("xmlNamespace", "")
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
            output = spec.get("output", {})
            ops[name] = Operation(
                name=name,
                http=Http(http.get("method", "POST"), http.get("requestUri", "/")),
                input_shape=shapes[spec["input"]["shape"]] if "input" in spec else None,
                output_shape=shapes[output["shape"]] if output else None,
                errors=tuple(e["shape"] for e in spec.get("errors", ())),
                deprecated=bool(spec.get("deprecated", False)),
                target=f"{self.target_prefix}.{name}" if self.target_prefix else "",
                result_wrapper=output.get("resultWrapper"),
            )
        self.operations: Mapping[str, Operation] = ops
        self._errors = frozenset(n for n, s in shapes.items() if s.exception)
        self._by_code = {s.error_code or n: s for n, s in shapes.items() if s.exception}
        # Services spell it differently (ECR `message`, Secrets Manager `Message`); SDKs
        # read either, but a hand-rolled client or a test against AWS reads its service's.
        spelt = {m for n in self._errors for m in shapes[n].members if m.lower() == "message"}
        self.error_message_member: str = spelt.pop() if len(spelt) == 1 else "message"

    @classmethod
    def from_file(cls, path: str | Path, service: str = "") -> ServiceModel:
        data = Path(path).read_bytes()
        raw = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        return cls(raw, service)

    def operation(self, name: str) -> Operation | None:
        """The operation called ``name`` (case-sensitive), or None."""
        return self.operations.get(name)

    def operation_for_target(self, target: str) -> Operation | None:
        """The operation an ``X-Amz-Target`` header selects, or None."""
        prefix, dot, name = target.rpartition(".")
        if not dot or not self.target_prefix or prefix != self.target_prefix:
            return None
        return self.operation(name)

    def shape(self, name: str) -> Shape:
        return self.shapes[name]

    def error_names(self) -> frozenset[str]:
        """Names of the error shapes the model defines."""
        return self._errors

    def error_shape(self, name: str) -> Shape | None:
        """The error shape called ``name`` or whose wire code is ``name``."""
        shape = self.shapes.get(name)
        if shape is not None and shape.exception:
            return shape
        return self._by_code.get(name)

    def error_code(self, name: str) -> str:
        """The wire code of error shape ``name`` (IAM's NoSuchEntityException is NoSuchEntity);
        ``name`` itself for errors the model does not define."""
        shape = self.error_shape(name)
        return shape.error_code or shape.name if shape is not None else name

    def error_status(self, name: str) -> int:
        """HTTP status for a modelled error: the model's ``httpStatusCode`` where it gives one,
        else 500 for faults (ServerException) and 400 for the rest."""
        shape = self.error_shape(name)
        if shape is None:
            return 400
        if shape.error_status is not None:
            return shape.error_status
        return 500 if shape.fault else 400


def _bare_shape(name: str, spec: Mapping[str, Any]) -> Shape:
    pattern = spec.get("pattern")
    if pattern is not None:
        check_pattern(pattern)  # fail at load time, not on the first request
    error = spec.get("error") or {}
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
        sensitive=bool(spec.get("sensitive", False)),
        error_code=error.get("code"),
        error_status=error.get("httpStatusCode"),
        sender_fault=bool(error.get("senderFault", False)),
    )


def model_path(service: str) -> Path:
    """The newest model of ``service`` (botocore's folder name: ecr, iam, sts) in botocore."""
    root = resources.files("botocore").joinpath("data", service)
    versions = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"botocore has no {service} model")
    folder = root.joinpath(versions[-1])
    for candidate in ("service-2.json.gz", "service-2.json"):
        path = folder.joinpath(candidate)
        if path.is_file():
            return Path(str(path))
    raise FileNotFoundError(f"no service-2.json(.gz) in {folder}")


@functools.cache
def load_model(service: str) -> ServiceModel:
    """The model of ``service``, loaded once."""
    return ServiceModel.from_file(model_path(service), service)
