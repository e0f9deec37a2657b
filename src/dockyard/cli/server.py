"""One server process: the app on uvicorn, on a port of its own or on a socket
shared with the node's other workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import socket
import ssl
from collections.abc import Callable, Iterator

import uvicorn

from dockyard.app import create_app, open_registry
from dockyard.cli import logs
from dockyard.cli.connections import http_protocol
from dockyard.cli.tls import watch_certificate
from dockyard.config import Settings
from dockyard.services import Registry


def run_server(
    settings: Settings,
    registry: Registry | None,
    listen: Callable[[], socket.socket] | None,
    last_good_tls: ssl.SSLContext | None = None,
) -> bool:
    """Serve until told to stop; False when the server could not start.

    A worker (``listen`` given) opens its own registry without migrating: the process
    that started the node migrated before any worker existed. It listens only once the
    application is open and its TLS certificate loaded, so the kernel hands a starting
    worker (or one that fails to start, say on a certificate caught mid-renewal) no
    connections to hold or refuse while the others are ready. A worker whose certificate
    files do not load serves ``last_good_tls`` (the pair its node started with) instead,
    until they load again.
    """
    if registry is None:
        registry = open_registry(settings, upgrade=False)
    app = create_app(settings, registry)
    server_config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=logs.configure(settings.log_level, settings.log_format),
        access_log=settings.access_log,
        lifespan="on",
        server_header=False,
        proxy_headers=False,
        http=http_protocol(settings.header_timeout.total_seconds()),
        timeout_keep_alive=math.ceil(settings.keep_alive_timeout.total_seconds()),
        ssl_certfile=settings.tls_cert or None,
        ssl_keyfile=settings.tls_key or None,
        ssl_context_factory=_tls_factory(last_good_tls) if settings.tls_cert else None,
    )
    try:
        server_config.load()
    except (OSError, ssl.SSLError) as exc:
        logging.getLogger("dockyard.server").error(
            "TLS certificate %s does not load (%s); not serving", settings.tls_cert, exc
        )
        return False
    sock = None if listen is None else listen()
    server = _Server(server_config)
    server.tls_reload = settings.tls_reload_interval.total_seconds()
    server.run(sockets=None if sock is None else [sock])
    if not server.started:
        logging.getLogger("dockyard.server").error("the server did not start")
    return bool(server.started)


def _tls_factory(
    last_good: ssl.SSLContext | None,
) -> Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext]:
    def factory(config: uvicorn.Config, from_files: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        try:
            return from_files()
        except (OSError, ssl.SSLError) as exc:
            if last_good is None:
                raise
            logging.getLogger("dockyard.server").warning(
                "TLS certificate %s does not load (%s); serving the one the node started with",
                config.ssl_certfile,
                exc,
            )
            return last_good

    return factory


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown, which makes the
    process die by signal; an operator (and systemd) expect a clean exit 0."""

    tls_reload = 0.0  # seconds between looks at the certificate files; 0: never
    _watch: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        config = self.config
        if config.ssl is not None and self.tls_reload > 0:
            assert config.ssl_certfile is not None and config.ssl_keyfile is not None
            self._watch = asyncio.create_task(
                watch_certificate(
                    config.ssl, str(config.ssl_certfile), str(config.ssl_keyfile), self.tls_reload
                )
            )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
