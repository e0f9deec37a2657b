"""ECR operations, one function each, registered by their model name in ECR's registry."""

from __future__ import annotations

from dockyard.api.aws.registry import Handler as _Handler
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.ecr.context import Context
from dockyard.api.ecr.shapes import load_model

Handler = _Handler[Context]
#: ECR's operations (``name -> handler``); registering a name botocore's model lacks fails.
OPERATIONS: OperationRegistry[Context] = OperationRegistry(load_model())
HANDLERS = OPERATIONS
operation = OPERATIONS.operation


def _load() -> None:
    # Imported for their registrations.
    from dockyard.api.ecr.operations import (  # noqa: F401
        cache_rules,
        external,
        images,
        layers,
        lifecycle,
        policies,
        registry,
        replication,
        repositories,
        scanning,
        templates,
    )


_load()
