"""``POST /``: every AWS control-plane API Dockyard serves, SigV4-signed, on one route.

For each request: the router picks the service from the headers; the credentials are
checked before a byte of the body is read (against that service's SigV4 name); the body is
read up to the service's bound for the operation; the signature is verified; the protocol
names the operation and decodes its input, which is checked against the model; the
operation's handler runs; the protocol renders its result or the error. Errors are always
the service's own, in its protocol's form.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from dockyard.api.aws.protocols import ProtocolError
from dockyard.api.aws.router import Router
from dockyard.api.aws.sensitive import redacted
from dockyard.api.aws.service import Call, Service
from dockyard.api.aws.validate import SerializationError, ShapeViolation, validate_input
from dockyard.api.bodies import BodyTimeout
from dockyard.auth import sigv4
from dockyard.domain.errors import DockyardError
from dockyard.services import Registry

__all__ = ["BodyTooLarge", "aws_endpoint", "read_body"]

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes")


def aws_endpoint(router: Router) -> Callable[[Request], Awaitable[Response]]:
    """The ``POST /`` endpoint for the services ``router`` knows."""

    async def endpoint(request: Request) -> Response:
        return await _serve(router.route(request.headers, request.url.query), request)

    return endpoint


async def _serve(service: Service, request: Request) -> Response:
    request_id = str(uuid.uuid4())
    registry: Registry = request.app.state.registry
    model, protocol = service.model, service.protocol
    name = protocol.operation_name(model, request.headers)
    label = f"{model.metadata.get('serviceId', service.name)} {name or '?'}"

    def error(status: int, code: str, message: str) -> Response:
        return protocol.error(model, request_id, status, code, message)

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
        region = await registry.identity.precheck(received, service.signing_name)
        raw = await read_body(request, service.body_limit(name))
        received = replace(received, body_sha256=hashlib.sha256(raw).hexdigest())
        caller = await registry.identity.authenticate(received, service.signing_name)
        name, decoded = protocol.decode(model, request.headers, raw)
        label = f"{model.metadata.get('serviceId', service.name)} {name}"
        registration = service.operations.registration(name)
        if registration is None:
            raise protocol.unknown_operation(model, request.headers, name)
        operation = registration.operation
        body = protocol.input_for(operation, decoded)
        validate_input(
            operation,
            body,
            constraint_kind=service.constraint_kind,
            lower_first=protocol.lower_first,
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", label, _loggable(redacted(operation.input_shape, body)))
        client = request.scope.get("client")
        call = Call(
            registry,
            caller,
            name,
            request.app.state.public_url,
            request_id,
            region,
            source_ip=client[0] if client else None,
            secure_transport=request.url.scheme == "https",
        )
        if service.authorize is not None:
            await service.authorize(call, registration, body)
        context = service.context(call)
        # Results are never logged: some carry credentials the models do not mark sensitive
        # (ECR's authorizationToken is a password).
        result: dict[str, Any] = await registration.handler(context, body)
        return protocol.success(model, operation, request_id, result)
    except ProtocolError as exc:
        return error(exc.status, exc.code, exc.message)
    except SerializationError as exc:
        return error(400, protocol.serialization_code, exc.message)
    except ShapeViolation as exc:
        kind = protocol.serialization_code if exc.kind == "SerializationException" else exc.kind
        return error(400, kind, exc.message)
    except DockyardError as exc:
        code, status = service.errors.wire_error(exc, name)
        return error(status, code, service.errors.message(exc))
    except BodyTooLarge as exc:
        return error(413, protocol.too_large_code, str(exc))
    except BodyTimeout as exc:
        log.info("%s: %s; connection closed (request %s)", label, exc, request_id)
        return error(408, protocol.timeout_code, f"Request timed out: {exc}")
    except ClientDisconnect:
        log.info("%s: the client closed the connection before the body ended", label)
        return error(400, "ClientDisconnected", "")  # nobody is left to read it
    except Exception:
        log.exception("%s failed (request %s)", label, request_id)
        code, status = service.errors.code_and_status(service.errors.fallback)
        return error(status, code, "internal error")


_LOGGED_TEXT = 200


def _loggable(value: Any) -> Any:
    """``value`` with long texts cut (a layer part or a manifest is no log line)."""
    if isinstance(value, str) and len(value) > _LOGGED_TEXT:
        return f"{value[:_LOGGED_TEXT]}...({len(value)} characters)"
    if isinstance(value, dict):
        return {k: _loggable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_loggable(v) for v in value]
    return value


async def read_body(request: Request, limit: int) -> bytes:
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
