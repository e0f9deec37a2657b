"""Wiring: settings -> backends -> services -> ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.api.aws.endpoint import aws_endpoint
from dockyard.api.aws.router import Router
from dockyard.api.bodies import BodyGuard, BodyTimeout
from dockyard.api.ecr.service import SERVICE as ECR
from dockyard.api.health import healthz, livez
from dockyard.api.iam.service import SERVICE as IAM
from dockyard.api.oci import oci_routes
from dockyard.api.oci.auth import BasicAuth
from dockyard.api.oci.errors import (
    error_response,
    handle_body_timeout,
    handle_disconnect,
    handle_domain_error,
    handle_unexpected,
)
from dockyard.api.oci.token import token_endpoint
from dockyard.api.secretsmanager.service import SERVICE as SECRETS_MANAGER
from dockyard.api.sts.service import SERVICE as STS
from dockyard.auth import keys
from dockyard.config import Settings, public_url, region_list
from dockyard.domain.errors import DockyardError
from dockyard.metadata import open_metadata
from dockyard.scanning import ScanLimits
from dockyard.services import Registry, RegistrySettings
from dockyard.services.changes import ChangeMark
from dockyard.services.identity import Identity, NewKey
from dockyard.services.pullthrough import CacheSettings
from dockyard.services.regions import served_regions
from dockyard.storage import open_blob_store
from dockyard.storage.s3config import S3Config
from dockyard.workers import periodic_jobs, register_jobs

_API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
ROOT_KEY_ENV = ("DOCKYARD_ROOT_ACCESS_KEY_ID", "DOCKYARD_ROOT_SECRET_ACCESS_KEY")
ROOT_CREDENTIALS_FILE = "root-credentials"


def open_registry(settings: Settings, upgrade: bool = True) -> Registry:
    """Everything a command needs to work on a registry's data, server or not.

    ``upgrade`` migrates the metadata schema first; a server's workers skip it.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metadata = open_metadata(settings.database_url or None, settings.data_dir, upgrade)
    store = open_blob_store(settings.storage_backend, settings.data_dir, s3_config(settings))
    box = keys.SecretBox(
        keys.load_or_create(settings.data_dir, "secrets.key", os.environ.get(keys.SECRETS_KEY_ENV))
    )
    token_key = keys.load_or_create(
        settings.data_dir, "tokens.key", os.environ.get(keys.TOKENS_KEY_ENV)
    )
    # Shared by the node's worker processes: a change through one is seen by all at once.
    changes = ChangeMark(settings.data_dir / "run" / "changes")
    regions = served_regions(region_list(settings), settings.region)
    identity = Identity(
        metadata.identity, box, token_key, settings.region, changes=changes, regions=regions
    )
    registry = Registry(
        RegistrySettings(
            account_id=settings.account_id,
            region=settings.region,
            regions=regions,
            registry_domain=settings.registry_domain,
            create_on_push=settings.create_on_push,
            max_manifest_bytes=settings.max_manifest_bytes,
            max_blob_bytes=settings.max_blob_bytes,
            idempotent_immutable_repush=settings.idempotent_immutable_repush,
            gc_grace_period=settings.gc_grace_period,
            job_lease=settings.job_lease,
            cache=CacheSettings(
                recheck_interval=settings.cache_recheck_interval,
                upstream_timeout=settings.cache_upstream_timeout.total_seconds(),
                lease=settings.cache_fetch_lease,
            ),
            scan_limits=ScanLimits(
                max_layer_bytes=settings.scan_max_layer_bytes,
                max_image_bytes=settings.scan_max_image_bytes,
                max_compression_ratio=float(settings.scan_max_compression_ratio),
            ),
        ),
        metadata,
        store,
        identity,
        changes,
    )
    register_jobs(registry, settings)
    return registry


def s3_config(settings: Settings) -> S3Config | None:
    """Where the s3 backend keeps blobs (None unless it is the backend); empty credentials
    mean botocore's usual chain (AWS_* variables, shared files, an instance role)."""
    if settings.storage_backend != "s3":
        return None
    return S3Config(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        presign=settings.blob_redirect,
    )


def bootstrap_root(registry: Registry, settings: Settings) -> NewKey | None:
    """Give the default account's root a key on first start.

    From the environment when both variables are set; otherwise generated, written
    to ``<data-dir>/root-credentials`` (mode 0600) and returned to be shown once.
    """
    given = [os.environ.get(name) for name in ROOT_KEY_ENV]
    root_key = NewKey(given[0], given[1]) if given[0] and given[1] else None
    made = registry.identity.bootstrap(settings.account_id, root_key)
    if made is not None:
        path = settings.data_dir / ROOT_CREDENTIALS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(
                "[default]\n"
                f"aws_access_key_id = {made.access_key_id}\n"
                f"aws_secret_access_key = {made.secret_access_key}\n"
            )
    return made


def create_app(settings: Settings, registry: Registry) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Metadata calls run in threads and some wait on SQLite's lock: the
        # default pool (cores + 4) would queue fast reads behind them.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))
        background = [
            asyncio.create_task(registry.pulls.run()),
            asyncio.create_task(registry.pullthrough.run()),
            asyncio.create_task(registry.jobs.serve(periodic_jobs(settings))),
        ]
        yield
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        registry.close()

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return error_response(404, "UNSUPPORTED", "no such endpoint")

    async def not_allowed(_request: Request, _exc: Exception) -> Response:
        return error_response(405, "UNSUPPORTED", "method not allowed on this endpoint")

    app = Starlette(
        routes=[
            *oci_routes(),
            # Every AWS API (ECR, IAM, STS, Secrets Manager), told apart by target header or
            # signing scope.
            Route(
                "/",
                aws_endpoint(Router([ECR, IAM, STS, SECRETS_MANAGER], default=ECR)),
                methods=["POST"],
            ),
            # The Basic challenge's realm, for clients that fetch a token there anyway.
            Route("/", token_endpoint, methods=["GET"]),
            Route("/livez", livez, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
        exception_handlers={
            DockyardError: handle_domain_error,
            ClientDisconnect: handle_disconnect,
            BodyTimeout: handle_body_timeout,
            Exception: handle_unexpected,
            404: not_found,
            405: not_allowed,
        },
    )
    app.state.registry = registry
    app.state.public_url = public_url(settings)
    guarded = BasicAuth(
        app,
        registry.identity,
        public_url(settings),
        anonymous_pull=settings.allow_anonymous_pull,
        disabled=settings.insecure_no_auth,
        default=registry.scope_of(None),
        registry_domain=settings.registry_domain,
        serves=registry.serves,
    )
    return BodyGuard(_VersionHeader(guarded), settings.body_timeout.total_seconds())


class _VersionHeader:
    """Every /v2 response says which API it speaks (a pure ASGI wrapper: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), _API_VERSION]
            await send(message)

        await self.app(scope, receive, send_with_header)
