"""A throwaway PostgreSQL cluster for tests, and the ``database`` fixtures built on it.

One cluster per pytest session, started the first time a test needs it: ``initdb`` in a
temporary directory, ``postgres`` on a free loopback port with its socket in that directory,
no durability (``fsync``, ``synchronous_commit`` and ``full_page_writes`` off) since the
data dies with the session. Every test (or every server a fixture starts) gets a database
of its own, made with ``CREATE DATABASE`` (a copy of an empty template, fast).

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` OS user
(Debian's package makes it) through ``runuser``. Debian installs the server binaries under
``/usr/lib/postgresql/<version>/bin``, off the PATH; they are looked for there first.

PostgreSQL missing is a failure, never a skip: ``scripts/install-test-deps.sh`` installs it.

Fixtures (registered by ``tests/conftest.py``):

* ``database_engine``: ``"sqlite"`` or ``"postgresql"``, session-scoped and parametrized, so
  every test that uses it (or a fixture that does) runs once per engine.
* ``database``: a fresh :class:`Database` for one test on the engine under test.
* ``postgres``: the session's cluster (started on first use).

A session- or package-scoped fixture that starts a server gets its database with
:func:`new_database`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import LOOPBACK, free_port

__all__ = [
    "ENGINES",
    "Database",
    "PostgresCluster",
    "PostgresMissing",
    "database",
    "database_engine",
    "new_database",
    "postgres",
]

ENGINES = ["sqlite", "postgresql"]
OS_USER = "postgres"  # who runs the cluster when the tests run as root
SUPERUSER = "dockyard"  # the cluster's superuser role; trust authentication on loopback
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found; the test "
    "command installs them: `bash scripts/install-test-deps.sh` (Debian package 'postgresql')"
)


class PostgresMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Database:
    """The metadata database a test runs on."""

    engine: str  # "sqlite" or "postgresql"
    url: str | None  # None: Dockyard's default, SQLite in the data directory

    @property
    def args(self) -> list[str]:
        """Extra ``dockyard serve`` arguments for this database."""
        return ["--database-url", self.url] if self.url else []


def find_binaries() -> Path:
    """The directory holding initdb, pg_ctl and postgres (the newest Debian version first)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb") and shutil.which("postgres"):
        return Path(found).resolve().parent
    raise PostgresMissing(INSTALL_HINT)


class PostgresCluster:
    """A PostgreSQL server of its own in ``root`` (deleted with it)."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.log_path = root / "postgres.log"
        self.port = port or free_port()
        self.bin = find_binaries()
        self._as_root = os.geteuid() == 0
        self._lock = threading.Lock()
        self._counter = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> PostgresCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._as_root:
            user = pwd.getpwnam(OS_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            "-D", str(self.data),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            # ICU English, as most real clusters sort (not bytewise): ordering bugs show here.
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en",
            "--no-sync",
        )  # fmt: skip
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            # Tests of lost leases and the like hold transactions open on purpose; a lock
            # that waits this long is a bug, and the log says which.
            "deadlock_timeout": "200ms",
            "log_lock_waits": "on",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/postgres.py\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log_path)
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")

    # -- databases ---------------------------------------------------------------------
    def url(self, database: str) -> str:
        """What an operator writes: ``postgresql://user@host:port/db``."""
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{self._counter}_{uuid.uuid4().hex[:8]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement through psql; its unaligned output."""
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", str(self.socket_dir),
                "-p", str(self.port),
                "-U", SUPERUSER,
                "-d", database,
                "-c", statement,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql {statement!r} failed: {done.stderr}")
        return done.stdout

    @property
    def pid(self) -> int | None:
        """The postmaster's process (the parent of every backend), while it runs."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- internals ---------------------------------------------------------------------
    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, cwd=self.root
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode,
                command,
                done.stdout,
                f"{done.stderr}\n--- server log:\n{self.log_text()}",
            )


def start_cluster(root: Path) -> PostgresCluster:
    try:
        cluster = PostgresCluster(root)
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    started = time.monotonic()
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        pytest.fail(
            f"could not start a PostgreSQL cluster: {exc.cmd} exited {exc.returncode}\n"
            f"{exc.stdout}\n{exc.stderr}",
            pytrace=False,
        )
    print(f"PostgreSQL {cluster.bin} on port {cluster.port} in {time.monotonic() - started:.1f}s")
    return cluster


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    # Not under pytest's basetemp: its path may be long for a socket, and root's private.
    root = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
    cluster = start_cluster(root)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=ENGINES)
def database_engine(request: pytest.FixtureRequest) -> str:
    """The metadata engine under test; a test using it runs once per engine."""
    engine: str = request.param
    return engine


def new_database(request: pytest.FixtureRequest, engine: str) -> Database:
    """A fresh database on ``engine``: SQLite in the data directory, or a new PostgreSQL one."""
    if engine == "sqlite":
        return Database("sqlite", None)
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return Database("postgresql", cluster.create_database())


@pytest.fixture
def database(request: pytest.FixtureRequest, database_engine: str) -> Iterator[Database]:
    """A fresh, empty metadata database for this test, on each engine in turn."""
    made = new_database(request, database_engine)
    yield made
    if made.url is not None:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        with contextlib.suppress(RuntimeError):
            cluster.drop_database(made.url)
