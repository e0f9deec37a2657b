"""Start, watch and stop the registries under test."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION_BIN = "/usr/bin/docker-registry"


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerSpec:
    """How to launch one registry. `argv` is built once the port and data dir are known."""

    key: str  # "dockyard" | "distribution"
    label: str

    def argv(self, port: int, data_dir: Path, work_dir: Path) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def version(self) -> str:
        return "?"


class DockyardSpec(ServerSpec):
    """Dockyard as importable here, or from `src_dir` (a directory holding `dockyard/`)."""

    def __init__(
        self,
        src_dir: Path | None = None,
        rev: str | None = None,
        settings: dict[str, str] | None = None,
        label: str = "Dockyard",
    ) -> None:
        super().__init__("dockyard", label)
        self.src_dir = src_dir
        self.rev = rev
        self.settings = settings or {}  # DOCKYARD_* variables, e.g. a database and a bucket

    # Like the docker-registry it is compared with: no auth, create on push, quiet logs.
    # Each flag is passed only if this Dockyard's `serve --help` knows it (older revisions
    # predate them and had these behaviours by default).
    WANTED_FLAGS: tuple[tuple[str, ...], ...] = (
        ("--insecure-no-auth",),
        ("--create-on-push",),
        ("--log-level", "warning"),
    )

    def argv(self, port: int, data_dir: Path, work_dir: Path) -> list[str]:
        argv = [
            sys.executable, "-m", "dockyard", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
        ]  # fmt: skip
        help_text = self._serve_help()
        for flag in self.WANTED_FLAGS:
            if flag[0] in help_text:
                argv.extend(flag)
        return argv

    def _serve_help(self) -> str:
        env = self.env() | {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
        try:
            out = subprocess.run(
                [sys.executable, "-m", "dockyard", "serve", "--help"],
                env=env, capture_output=True, text=True, timeout=60, cwd="/",
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout + out.stderr

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        src: Path | None = self.src_dir
        if src is None and importlib.util.find_spec("dockyard") is None:
            src = REPO_ROOT / "src"
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
        return env | self.settings

    def version(self) -> str:
        try:
            code = "import dockyard; print(getattr(dockyard, '__version__', '?'))"
            out = subprocess.run(
                [sys.executable, "-c", code], env=self.env(), capture_output=True, text=True,
                timeout=60, cwd="/",
            )  # fmt: skip
            version = out.stdout.strip() or "?"
        except (OSError, subprocess.SubprocessError):
            version = "?"
        return f"{version} @ {self.rev}" if self.rev else version


def export_dockyard_rev(rev: str, dest: Path) -> tuple[Path, str]:
    """`git archive` the repository's src/ at `rev` into `dest`; returns (src dir, short sha)."""
    sha = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", sha, "src"],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src", sha


class DistributionSpec(ServerSpec):
    def __init__(self) -> None:
        super().__init__("distribution", "docker-registry")

    def argv(self, port: int, data_dir: Path, work_dir: Path) -> list[str]:
        config = work_dir / "config.yml"
        # The same settings as Debian's stock /etc/docker/registry/config.yml (including the
        # in-memory blob descriptor cache), minus auth, with delete enabled, and with a drain
        # timeout so that SIGTERM is a graceful shutdown (exit 0) as it is for Dockyard.
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {data_dir}\n"
            "  cache:\n    blobdescriptor: inmemory\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  draintimeout: 10s\n"
        )
        return [DISTRIBUTION_BIN, "serve", str(config)]

    def version(self) -> str:
        try:
            out = subprocess.run(
                [DISTRIBUTION_BIN, "--version"], capture_output=True, text=True, timeout=30
            )
            return out.stdout.strip().split()[-1] if out.stdout.strip() else "?"
        except (OSError, subprocess.SubprocessError):
            return "?"


SPECS: dict[str, Callable[[], ServerSpec]] = {
    "dockyard": DockyardSpec,
    "distribution": DistributionSpec,
}


@dataclass
class Usage:
    """What the server process tree used during one sampled interval."""

    peak_rss: int = 0
    cpu_seconds: float = 0.0
    samples: int = 0


class ResourceSampler:
    """Samples the RSS of process trees every `interval` seconds in a background thread.

    RSS is summed over the given processes (a server, or every part of a deployment: its
    nodes, its database, its object store) and all their descendants. CPU time is the
    difference of user+system time of the tree between start and stop (descendants that
    exit in between are not counted). `other_cpu_seconds` is what every other process on the
    machine used meanwhile: anything well above zero means the figure was disturbed.
    """

    def __init__(self, *pids: int, interval: float = 0.05) -> None:
        self.pids = pids
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.usage = Usage()
        self._cpu0 = 0.0
        self._self_cpu0 = 0.0
        self._busy0 = 0.0
        self.client_cpu_seconds = 0.0
        self.other_cpu_seconds = 0.0

    def _tree(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
        return found

    def _sample_rss(self) -> int:
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def _cpu(self) -> float:
        total = 0.0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    @staticmethod
    def _busy() -> float:
        """CPU seconds the whole machine has spent busy (all cores, all processes)."""
        t = psutil.cpu_times()
        idle: float = t.idle + getattr(t, "iowait", 0.0) + getattr(t, "steal", 0.0)
        return float(sum(t)) - idle

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._sample_rss()
            self.usage.samples += 1
            self.usage.peak_rss = max(self.usage.peak_rss, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> ResourceSampler:
        self._cpu0 = self._cpu()
        self._busy0 = self._busy()
        t = os.times()
        self._self_cpu0 = t.user + t.system
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.usage.peak_rss = max(self.usage.peak_rss, self._sample_rss())
        self.usage.cpu_seconds = self._cpu() - self._cpu0
        t = os.times()
        self.client_cpu_seconds = t.user + t.system - self._self_cpu0
        busy = self._busy() - self._busy0
        self.other_cpu_seconds = max(0.0, busy - self.usage.cpu_seconds - self.client_cpu_seconds)


@dataclass
class RunningServer:
    spec: ServerSpec
    port: int
    work_dir: Path
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    startup_seconds: float = 0.0
    idle_rss: int = 0
    exit_code: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def sampler(self) -> ResourceSampler:
        return ResourceSampler(self.proc.pid)

    def tree_rss(self) -> int:
        return ResourceSampler(self.proc.pid)._sample_rss()


def start_server(
    spec: ServerSpec, tmp_root: Path | None, ready_timeout: float = 90.0
) -> RunningServer:
    work_dir = Path(tempfile.mkdtemp(prefix=f"bench-{spec.key}-", dir=tmp_root))
    data_dir = work_dir / "data"
    data_dir.mkdir()
    port = free_port()
    log_path = work_dir / "server.log"
    argv = spec.argv(port, data_dir, work_dir)
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=spec.env(), cwd=work_dir, start_new_session=True,
        )  # fmt: skip
    srv = RunningServer(spec, port, work_dir, data_dir, log_path, proc)
    try:
        _wait_ready(srv, argv, t0 + ready_timeout)
    except BaseException:
        stop_server(srv)
        cleanup(srv)
        raise
    srv.startup_seconds = time.perf_counter() - t0
    time.sleep(0.3)  # let start-up work settle before taking the idle RSS
    srv.idle_rss = srv.tree_rss()
    return srv


def _wait_ready(srv: RunningServer, argv: list[str], deadline: float) -> None:
    label = srv.spec.label
    last_err = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as c:
        while time.perf_counter() < deadline:
            if not srv.alive():
                raise ServerError(
                    f"{label} exited with code {srv.proc.returncode} before it was ready "
                    f"(argv: {' '.join(argv)})\n{srv.log_tail()}"
                )
            try:
                r = c.get(f"{srv.base_url}/v2/")
                if r.status_code == 200:
                    return
                if r.status_code == 401 and getattr(srv.spec, "authenticated", False):
                    return  # a bench of authentication itself (bench/authz.py)
                if r.status_code == 401:
                    raise ServerError(
                        f"{label} answers GET /v2/ with 401: authentication is on, and the "
                        f"bench needs a registry without it (argv: {' '.join(argv)})"
                    )
                last_err = f"GET /v2/ -> {r.status_code}"
            except httpx.HTTPError as exc:
                last_err = repr(exc)
            time.sleep(0.05)
    raise ServerError(f"{label} not ready in time ({last_err})\n{srv.log_tail()}")


def stop_server(srv: RunningServer, grace: float = 30.0) -> None:
    """SIGTERM the server and wait; SIGKILL its process group if it does not exit in time."""
    if srv.alive():
        srv.proc.send_signal(signal.SIGTERM)
        try:
            srv.exit_code = srv.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            srv.notes.append(f"did not exit within {grace:.0f}s of SIGTERM; killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(srv.proc.pid, signal.SIGKILL)
            srv.exit_code = srv.proc.wait(timeout=30)
    else:
        srv.exit_code = srv.proc.returncode
        srv.notes.append(f"had already exited (code {srv.exit_code}) when the bench stopped it")
    # Anything left in the server's own process group (workers) is ours to end.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(srv.proc.pid, signal.SIGKILL)
    if srv.exit_code not in (0, None):
        srv.notes.append(f"exit code after SIGTERM: {srv.exit_code}")


def cleanup(srv: RunningServer, keep: bool = False) -> None:
    if not keep:
        shutil.rmtree(srv.work_dir, ignore_errors=True)
