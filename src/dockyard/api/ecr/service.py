"""ECR as a service of the shared AWS layer: AWS JSON 1.1, SigV4 name ``ecr``, ECR's errors,
and bodies bounded per operation by ECR's model."""

from __future__ import annotations

from dockyard.api.aws.protocols.json import JsonProtocol
from dockyard.api.aws.service import Call, Service
from dockyard.api.ecr import shapes
from dockyard.api.ecr.access import authorize
from dockyard.api.ecr.context import Context
from dockyard.api.ecr.errors import ERRORS
from dockyard.api.ecr.operations import OPERATIONS


def _context(call: Call) -> Context:
    return Context(call.registry, call.caller, call.operation, call.public_url, call.region)


SERVICE = Service(
    model=shapes.load_model(),
    protocol=JsonProtocol(),
    operations=OPERATIONS,
    errors=ERRORS,
    context=_context,
    constraint_kind="InvalidParameterException",
    body_limit=shapes.body_limit,
    authorize=authorize,
)
