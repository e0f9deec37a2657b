"""``POST /``: the ECR control-plane API (AWS JSON 1.1, SigV4-signed)."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import replace
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from dockyard.api.bodies import BodyTimeout
from dockyard.api.ecr import shapes
from dockyard.api.ecr.context import Context
from dockyard.api.ecr.errors import wire_error, wire_message
from dockyard.api.ecr.operations import HANDLERS
from dockyard.auth import sigv4
from dockyard.domain.errors import DockyardError
from dockyard.services import Registry

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
CONTENT_TYPE = "application/x-amz-json-1.1"


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes")


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
        received = sigv4.ReceivedRequest(
            method=request.method,
            path=request.scope.get("raw_path", b"/").decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]
            ],
        )
        # Credentials first, body second: a request without a live key is refused before
        # it can make the server hold a byte of its body.
        await registry.identity.precheck(received, "ecr")
        raw = await _read(request, shapes.body_limit(name))
        received = replace(received, body_sha256=hashlib.sha256(raw).hexdigest())
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
    except BodyTooLarge as exc:
        return _error(request_id, 413, "RequestEntityTooLargeException", str(exc))
    except BodyTimeout as exc:
        log.info("ECR %s: %s; connection closed (request %s)", name, exc, request_id)
        # botocore retries RequestTimeoutException, as it should a stalled upload.
        return _error(request_id, 408, "RequestTimeoutException", f"Request timed out: {exc}")
    except ClientDisconnect:
        log.info("ECR %s: the client closed the connection before the body ended", name)
        return _error(request_id, 400, "ClientDisconnected", "")  # nobody is left to read it
    except Exception:
        log.exception("ECR %s failed (request %s)", name, request_id)
        return _error(request_id, 500, "ServerException", "internal error")


async def _read(request: Request, limit: int) -> bytes:
    """The whole body, refused up front (by Content-Length) or as soon as it passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)
