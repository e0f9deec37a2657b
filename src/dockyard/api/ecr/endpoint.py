"""``POST /``: the ECR control-plane API (AWS JSON 1.1, SigV4-signed)."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from dockyard.api.ecr import shapes
from dockyard.api.ecr.context import Context
from dockyard.api.ecr.errors import wire_error, wire_message
from dockyard.api.ecr.operations import HANDLERS
from dockyard.auth import sigv4
from dockyard.domain.errors import DockyardError, InvalidRequest
from dockyard.services import Registry

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
CONTENT_TYPE = "application/x-amz-json-1.1"
# A 20 MiB layer part, base64-encoded, plus the JSON around it.
MAX_BODY = 32 << 20


def _answer(request_id: str, status: int, body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


def _error(request_id: str, status: int, kind: str, message: str) -> Response:
    return _answer(request_id, status, {"__type": kind, "message": message})


async def ecr_endpoint(request: Request) -> Response:
    request_id = str(uuid.uuid4())
    registry: Registry = request.app.state.registry
    target = request.headers.get("x-amz-target", "")
    name = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else None
    try:
        raw = await _read(request)
        received = sigv4.ReceivedRequest(
            method=request.method,
            path=request.scope.get("raw_path", b"/").decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]
            ],
            body_sha256=hashlib.sha256(raw).hexdigest(),
        )
        caller = await registry.identity.authenticate(received, "ecr")
        operation = shapes.load_model().operation(name) if name else None
        handler = HANDLERS.get(name or "")
        if operation is None or handler is None or name is None:
            return _error(
                request_id, 400, "UnknownOperationException", f"Unknown operation {target!r}"
            )
        body = shapes.decode_body(raw)
        shapes.validate_input(operation, body)
        context = Context(registry, caller, name, request.app.state.public_url)
        result = await handler(context, body)
        return _answer(request_id, 200, shapes.serialize_output(operation, result))
    except shapes.SerializationError as exc:
        return _error(request_id, 400, exc.kind, exc.message)
    except shapes.ShapeViolation as exc:
        return _error(request_id, 400, exc.kind, exc.message)
    except DockyardError as exc:
        kind, status = wire_error(exc, name)
        return _error(request_id, status, kind, wire_message(exc))
    except Exception:
        log.exception("ECR %s failed (request %s)", name, request_id)
        return _error(request_id, 500, "ServerException", "internal error")


async def _read(request: Request) -> bytes:
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY:
            raise InvalidRequest(f"request body is larger than {MAX_BODY} bytes")
        parts.append(chunk)
    return b"".join(parts)
