"""Wiring: settings -> backends -> services -> ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.api.oci import oci_routes
from dockyard.api.oci.errors import error_response, handle_domain_error, handle_unexpected
from dockyard.config import Settings
from dockyard.domain.errors import DockyardError
from dockyard.metadata import open_metadata
from dockyard.services import Registry, RegistrySettings
from dockyard.storage import open_blob_store

_API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")


def open_registry(settings: Settings) -> Registry:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metadata = open_metadata(settings.database_url or None, settings.data_dir)
    store = open_blob_store(settings.storage_backend, settings.data_dir)
    return Registry(
        RegistrySettings(
            account_id=settings.account_id,
            region=settings.region,
            create_on_push=settings.create_on_push,
            max_manifest_bytes=settings.max_manifest_bytes,
            max_blob_bytes=settings.max_blob_bytes,
        ),
        metadata,
        store,
    )


def create_app(settings: Settings) -> ASGIApp:
    registry = open_registry(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Metadata calls run in threads and some wait on SQLite's lock: the
        # default pool (cores + 4) would queue fast reads behind them.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))
        yield
        registry.close()

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return error_response(404, "UNSUPPORTED", "no such endpoint")

    async def not_allowed(_request: Request, _exc: Exception) -> Response:
        return error_response(405, "UNSUPPORTED", "method not allowed on this endpoint")

    app = Starlette(
        routes=oci_routes(),
        lifespan=lifespan,
        exception_handlers={
            DockyardError: handle_domain_error,
            Exception: handle_unexpected,
            404: not_found,
            405: not_allowed,
        },
    )
    app.state.registry = registry
    return _VersionHeader(app)


class _VersionHeader:
    """Every /v2 response says which API it speaks (a pure ASGI wrapper: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), _API_VERSION]
            await send(message)

        await self.app(scope, receive, send_with_header)
