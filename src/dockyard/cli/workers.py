"""Several server processes on one port: a small pre-fork supervisor.

``dockyard serve`` prepares the node (settings, migrations, root key), binds
its port and then replaces itself (exec, same pid) with this
module, which imports nothing but the standard library: the supervisor only
forks the workers and watches them, so it should not hold the ~73 MiB of the
application as well. Each worker imports and opens the application after the
fork and listens on the port beside the others (``SO_REUSEPORT``); the kernel
spreads connections over them. Workers share nothing but the port; everything
else they share goes through the database and the blob store, which is what
makes a worker the same thing as a node.

- A worker that dies (crash, OOM kill) is replaced; one that keeps dying at
  start makes the supervisor give up rather than spin.
- SIGTERM or SIGINT drains: every worker gets SIGTERM, finishes what it is
  serving and exits; stragglers are killed after ``drain_seconds``.
- A worker dies with its parent even when the parent is SIGKILLed
  (``PR_SET_PDEATHSIG``): a node killed outright must not leave orphans holding
  the port, which would also stop a restarted node from binding it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.cli import logs
from dockyard.config import Settings, as_values, load_settings, tls_context

log = logging.getLogger("dockyard.workers")

_PR_SET_PDEATHSIG = 1
# A worker that exits sooner than this after starting counts as failing to start.
_QUICK_EXIT_SECONDS = 5.0
_MAX_QUICK_EXITS = 5


def become_supervisor(settings: Settings, count: int, sock: socket.socket) -> None:
    """Replace this process with the supervisor of ``count`` workers serving on ``sock``.

    The settings, as resolved here, travel through a pipe (they may hold secrets,
    which do not belong on a command line).
    """
    reader, writer = os.pipe()
    with os.fdopen(writer, "w") as pipe:
        json.dump(as_values(settings), pipe)
    os.set_inheritable(reader, True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "dockyard.cli.workers", str(sock.fileno()), str(reader)]
    os.execv(sys.executable, [*argv, str(count)])


def main(argv: list[str]) -> None:
    sock_fd, settings_fd, count = (int(arg) for arg in argv)
    with os.fdopen(settings_fd) as pipe:
        settings = load_settings(json.load(pipe), environ={})
    logs.configure(settings.log_level, settings.log_format)
    reserved = socket.socket(fileno=sock_fd)
    # Loaded once here, before any worker exists: a worker started later (one replaced)
    # while the files are caught mid-renewal serves this pair until they load again.
    last_good_tls = tls_context(settings) if settings.tls_cert else None

    def work() -> None:
        from dockyard.cli.server import run_server  # the application: in workers only

        def listen() -> socket.socket:
            listener = listen_beside(reserved)
            reserved.close()
            return listener

        if not run_server(settings, None, listen, last_good_tls):
            raise SystemExit(1)

    sys.exit(Supervisor(count, work).run())


# Each worker listens on a socket of its own (SO_REUSEPORT) rather than all on one: libuv,
# under uvloop, accepts every pending connection per wake-up, so on a shared socket the
# first worker to wake took a whole burst of clients and kept them (keep-alive): 32 clients
# connecting at once were served by one process on one core while the others idled. The
# kernel spreads connections over reuse-port listeners by their address hash. The price:
# connections still queued (not yet accepted) on a worker that dies are reset.
_BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """The node's port, bound but not listening: held by the supervisor so that workers,
    started and restarted at any time, can listen beside it and no other program can take
    the port in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def listen_beside(reserved: socket.socket) -> socket.socket:
    """A worker's own listening socket on the reserved address."""
    sock = socket.socket(reserved.family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(reserved.getsockname())
    sock.listen(_BACKLOG)
    return sock


@dataclass
class Supervisor:
    """Runs ``count`` copies of ``work`` (which serves on the socket and returns when
    told to stop by SIGTERM) and keeps them running until the supervisor is stopped."""

    count: int
    work: Callable[[], None]
    drain_seconds: float = 30.0
    poll_seconds: float = 0.1
    _children: dict[int, float] = field(default_factory=dict)  # pid -> start time
    _stopping: int | None = None
    _quick_exits: int = 0

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; returns the exit code for the whole server."""
        parent = os.getpid()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for _ in range(self.count):
            self._spawn(parent)
        log.info("serving with %d worker processes (supervisor pid %d)", self.count, parent)
        failed = False
        while self._stopping is None:
            time.sleep(self.poll_seconds)
            failed = self._replace_exited(parent)
        self._drain()
        return 1 if failed else 0

    def _replace_exited(self, parent: int) -> bool:
        """Forget every worker that exited and start another for each, unless stopping;
        True when workers keep exiting at start (the server then stops)."""
        failed = False
        # Every reaped pid is forgotten, stopping or not: the drain waits for the pids
        # still known, and one already reaped would hold it for the whole drain time.
        for pid, status in self._reap():
            started = self._children.pop(pid, time.monotonic())
            if self._stopping is not None:
                continue
            code = os.waitstatus_to_exitcode(status)
            log.warning("worker %d exited (%s); starting another", pid, _describe(code))
            quick = time.monotonic() - started < _QUICK_EXIT_SECONDS
            self._quick_exits = self._quick_exits + 1 if quick else 0
            if self._quick_exits >= _MAX_QUICK_EXITS:
                log.error("workers keep exiting at start; stopping the server")
                failed = True
                self._stopping = signal.SIGTERM
                continue
            self._spawn(parent)
        return failed

    def _spawn(self, parent: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                _die_with(parent)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                self.work()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self._children[pid] = time.monotonic()

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = signum

    def _reap(self) -> list[tuple[int, int]]:
        gone = []
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            gone.append((pid, status))
        return gone

    def _drain(self) -> None:
        for pid in self._children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.drain_seconds
        while self._children and time.monotonic() < deadline:
            for pid, _status in self._reap():
                self._children.pop(pid, None)
            time.sleep(self.poll_seconds)
        for pid in self._children:
            log.warning(
                "worker %d did not finish within %.0fs; killing it", pid, self.drain_seconds
            )
            _signal(pid, signal.SIGKILL)
        for pid in list(self._children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._children.pop(pid, None)


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


if __name__ == "__main__":
    main(sys.argv[1:])
