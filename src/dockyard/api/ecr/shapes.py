"""Botocore's ECR model through the shared AWS layer, with ECR's own body bounds.

The model loader, validator and output checks live in ``dockyard.api.aws`` and serve every
service; this module binds them to ECR (operations may be named by string) and keeps what
only ECR has: how large a request body of each operation can legitimately be, and
Dockyard's own operations on ECR's door (``extensions``), added to botocore's model.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.api.aws import model as _model
from dockyard.api.aws import validate as _validate
from dockyard.api.aws.model import Http, Operation, Shape
from dockyard.api.aws.model import ServiceModel as EcrModel
from dockyard.api.aws.patterns import PATTERN_REWRITES, compile_pattern, translate_pattern
from dockyard.api.aws.protocols.json import decode_body
from dockyard.api.aws.serialize import to_json
from dockyard.api.aws.validate import (
    DEFAULT_CONSTRAINT_KIND,
    ConstraintKind,
    ErrorKind,
    SerializationError,
    ShapeViolation,
    Violation,
)
from dockyard.api.ecr import extensions

__all__ = [
    "DEFAULT_CONSTRAINT_KIND",
    "OTHER_BODY_LIMIT",
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
    "body_limit",
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

SERVICE = "ecr"


def model_path() -> Path:
    """The newest ECR service model inside the installed botocore package."""
    return _model.model_path(SERVICE)


def botocore_raw_model() -> dict[str, Any]:
    """botocore's ECR model as its file holds it."""
    data = model_path().read_bytes()
    raw: dict[str, Any] = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return raw


@functools.cache
def load_model() -> EcrModel:
    """The ECR model served, loaded once: botocore's, plus Dockyard's own operations kept
    apart in ``extensions`` (replication backfills, which ECR lacks)."""
    return EcrModel(extensions.extend(botocore_raw_model()), SERVICE)


def _resolve(operation: Operation | str) -> Operation:
    if isinstance(operation, Operation):
        return operation
    found = load_model().operation(operation)
    if found is None:
        raise ValueError(f"unknown ECR operation {operation!r}")
    return found


def find_violations(operation: Operation | str, body: Mapping[str, Any]) -> list[Violation]:
    """Every way ``body`` departs from the operation's input shape, in model member order."""
    return _validate.find_violations(_resolve(operation), body)


def validate_input(
    operation: Operation | str,
    body: Any,
    *,
    constraint_kind: ConstraintKind = DEFAULT_CONSTRAINT_KIND,
) -> None:
    """Raise ``ShapeViolation`` unless ``body`` satisfies the operation's input shape."""
    _validate.validate_input(_resolve(operation), body, constraint_kind=constraint_kind)


def serialize_output(operation: Operation | str, value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as the JSON response body: no ``None`` members, timestamps as epoch seconds."""
    _resolve(operation)
    return to_json(value)


def check_output(operation: Operation | str, value: Mapping[str, Any]) -> list[str]:
    """Every way ``value`` departs from the operation's output shape, as ``path: problem``."""
    return _validate.check_output(_resolve(operation), value)


# --------------------------------------------------------------------------- body bounds


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
