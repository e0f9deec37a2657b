"""Values with the model's ``sensitive`` trait, kept out of logs.

A secret access key, a session token or a password is marked ``sensitive`` in its service's
model; ``redacted`` gives a copy of a request or response in which every such value (and
every value inside a sensitive structure, list or map) reads ``REDACTED``, fit to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.api.aws.model import Shape

__all__ = ["REDACTED", "redacted"]

REDACTED = "REDACTED"


def redacted(shape: Shape | None, value: Any) -> Any:
    """``value`` (shaped by ``shape``) with every sensitive value replaced by ``REDACTED``.

    Where the shape does not describe a value (no shape, an unknown member), the value is
    kept only if it is a plain scalar that cannot hide a nested secret.
    """
    if value is None:
        return None
    if shape is None:
        return value if isinstance(value, bool | int | float) else REDACTED
    if shape.sensitive:
        return REDACTED
    if shape.type == "structure" and isinstance(value, Mapping):
        return {name: redacted(shape.members.get(str(name)), item) for name, item in value.items()}
    if shape.type == "list" and isinstance(value, list | tuple):
        return [redacted(shape.member, item) for item in value]
    if shape.type == "map" and isinstance(value, Mapping):
        return {
            redacted(shape.key, key): redacted(shape.value, item) for key, item in value.items()
        }
    return value
