"""ECR operations, one function each, registered by their wire name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dockyard.api.ecr.context import Context

Handler = Callable[[Context, dict[str, Any]], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


def _load() -> None:
    # Imported for their registrations.
    from dockyard.api.ecr.operations import (  # noqa: F401
        images,
        layers,
        lifecycle,
        registry,
        repositories,
        scanning,
    )


_load()
