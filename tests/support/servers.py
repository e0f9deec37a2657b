"""Start and stop registry server processes (Dockyard and CNCF distribution) for tests.

All servers listen on 127.0.0.1 only. Process output goes to a log file in a private
temporary directory, never into the registry's data directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

__all__ = [
    "DistributionProcess",
    "DockyardProcess",
    "Registry",
    "ServerProcess",
    "database_url_of",
    "free_port",
]

LOOPBACK = "127.0.0.1"
DOCKER_REGISTRY_BIN = "/usr/bin/docker-registry"


@dataclass(frozen=True)
class Registry:
    """A running registry as seen by tests."""

    kind: str  # "dockyard" or "distribution"
    host: str  # "127.0.0.1:PORT"
    url: str  # "http://127.0.0.1:PORT"
    data_dir: Path


def fresh_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A request on a connection of its own, so the kernel may hand it to any worker of a
    server (a kept-alive connection stays with the worker that accepted it)."""
    with httpx.Client(timeout=60) as client:
        return client.request(method, url, **kwargs)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """Common lifecycle for a server subprocess listening on 127.0.0.1:port."""

    name = "server"
    scheme = "http"
    #: What a client checks the server's certificate against when it is HTTPS.
    verify: ssl.SSLContext | bool = True

    def __init__(
        self,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.port = port if port is not None else free_port()
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None
        if log_dir is None:
            log_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-log-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self._log_dir = log_dir
        self.log_path = self._log_dir / f"{self.name}.log"
        self._log_file: BinaryIO | None = None

    # -- to be provided by subclasses -------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    # -- public API --------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError(f"{self.name} not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ServerProcess:
        if self.running:
            raise RuntimeError(f"{self.name} already running (pid {self.pid})")
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _close_log
        log.write(f"--- start {' '.join(self.command())}\n".encode())
        log.flush()
        self._log_file = log
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        return self

    def wait_ready(self, timeout: float = 10) -> None:
        """Poll GET /v2/ until it answers 200 or 401."""
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self._proc.returncode} before ready; "
                    f"log:\n{self.log_text()}"
                )
            try:
                r = httpx.get(f"{self.url}/v2/", timeout=2, verify=self.verify)
                if r.status_code in (200, 401):
                    return
                last_error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.name} on {self.url} not ready after {timeout}s ({last_error}); "
            f"log:\n{self.log_text()}"
        )

    def stop(self, timeout: float = 15) -> int:
        """Send SIGTERM, wait up to `timeout` seconds, return the exit code.

        If the process does not exit in time it is killed and TimeoutError is raised.
        """
        proc = self._require_proc()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self._close_log()
                raise TimeoutError(
                    f"{self.name} did not exit within {timeout}s of SIGTERM; killed"
                ) from None
        self._close_log()
        return proc.returncode

    def kill(self) -> int:
        """Send SIGKILL and wait; return the exit code (normally -9)."""
        proc = self._require_proc()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        self._close_log()
        return proc.returncode

    def start_ready(self, timeout: float = 30) -> ServerProcess:
        """Start and wait until it answers; a server that never does is killed."""
        self.start()
        try:
            self.wait_ready(timeout=timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def stop_cleanly(self) -> None:
        """Stop with SIGTERM and insist on exit code 0 (graceful shutdown)."""
        code = self.stop()
        assert code == 0, f"{self.name} exited with {code} on SIGTERM; log:\n{self.log_text()}"

    @contextlib.contextmanager
    def serving(self) -> Iterator[ServerProcess]:
        """``start_ready`` for the block, then ``stop_cleanly`` if it is still running."""
        self.start_ready()
        try:
            yield self
        finally:
            if self.running:
                self.stop_cleanly()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- internals ---------------------------------------------------------------------
    def _require_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError(f"{self.name} not started")
        return self._proc

    def _close_log(self) -> None:
        log = self._log_file
        self._log_file = None
        if log is not None:
            log.close()

    def __enter__(self) -> ServerProcess:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.running:
            with contextlib.suppress(TimeoutError):
                self.stop()


ROOT_ACCESS_KEY_ID = "AKIADOCKYARDTESTROOT"
ROOT_SECRET_ACCESS_KEY = "dockyard-test-root-secret-0123456789abcd"


# The metadata database of each data directory whose server was given one, so that the
# helpers working on a server's data (the CLI, moving stored times) reach the same one.
_DATABASE_URLS: dict[Path, str] = {}


def database_url_of(data_dir: Path) -> str | None:
    """The ``--database-url`` of the server over ``data_dir``; None: SQLite in it."""
    return _DATABASE_URLS.get(Path(data_dir).resolve())


class DockyardProcess(ServerProcess):
    """`python -m dockyard serve` on 127.0.0.1, with known root credentials.

    ``open_access`` (the default) runs it like the distribution fixture: no
    authentication and repositories created on first push, so the same protocol
    tests run against both. ``open_access=False`` is Dockyard's secure default.
    ``database_url`` (e.g. a test's PostgreSQL database) replaces the SQLite default.
    """

    name = "dockyard"

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        open_access: bool = True,
        database_url: str | None = None,
    ) -> None:
        credentials = {
            "DOCKYARD_ROOT_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
            "DOCKYARD_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
        }
        # One process unless a test asks for more (--workers N, or this variable): most
        # tests look at one server's behaviour, the scale-out tests at several workers'.
        env = {"DOCKYARD_WORKERS": "1", **(env or {}), **credentials}
        super().__init__(port=port, env=env, log_dir=log_dir)
        self.data_dir = Path(data_dir)
        opening = ["--insecure-no-auth", "--create-on-push"] if open_access else []
        database = ["--database-url", database_url] if database_url else []
        self.extra_args = [*opening, *database, *(extra_args or [])]
        self.database_url = database_url
        if database_url:
            _DATABASE_URLS[self.data_dir.resolve()] = database_url

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "dockyard",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]

    def registry(self) -> Registry:
        return Registry(kind="dockyard", host=self.host, url=self.url, data_dir=self.data_dir)


class DistributionProcess(ServerProcess):
    """CNCF distribution 2.8 (`docker-registry serve CONFIG`) on 127.0.0.1."""

    name = "distribution"

    def __init__(
        self,
        root_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        super().__init__(port=port, env=env, log_dir=log_dir)
        self.root_dir = Path(root_dir)
        self.data_dir = self.root_dir / "storage"
        self.config_path = self._log_dir / "config.yml"

    def write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML; avoids quoting pitfalls with paths.
        self.config_path.write_text(
            "version: 0.1\n"
            "log:\n"
            "  level: warn\n"
            "  accesslog:\n"
            "    disabled: true\n"
            "storage:\n"
            "  filesystem:\n"
            f"    rootdirectory: {_yaml_str(str(self.data_dir))}\n"
            "  delete:\n"
            "    enabled: true\n"
            "  maintenance:\n"
            "    uploadpurging:\n"
            "      enabled: false\n"
            "http:\n"
            f"  addr: {_yaml_str(self.host)}\n"
            "  debug:\n"
            "    addr: ''\n"
        )
        return self.config_path

    def command(self) -> list[str]:
        return [DOCKER_REGISTRY_BIN, "serve", str(self.config_path)]

    def start(self) -> ServerProcess:
        self.write_config()
        return super().start()

    def registry(self) -> Registry:
        return Registry(kind="distribution", host=self.host, url=self.url, data_dir=self.data_dir)


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
