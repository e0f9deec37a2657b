"""The job tests' databases: each test that takes ``database_url`` or ``metadata`` runs on
SQLite (a file in its tmp_path) and on PostgreSQL, a real cluster from Debian's
``postgresql`` package started for the session in a temporary directory on a loopback
port (skipped, saying so, where the package is not installed). On PostgreSQL the claim
takes ``FOR UPDATE SKIP LOCKED`` and a duplicate key is a real race between transactions,
which SQLite's single writer never shows.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.metadata import Metadata, open_metadata


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; as ``nobody`` when the tests run as root,
    since PostgreSQL refuses to run as root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="dockyard-jobs-pg-"))
        self.port = _free_port()
        self._as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "nobody", "nogroup")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin_dir / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.root,
        )

    def start(self) -> None:
        data = str(self.root / "data")
        self._run("initdb", "-D", data, "-U", "dockyard", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        name = f"jobs_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "dockyard", name)
        return f"postgresql+psycopg://dockyard@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql)")
    cluster = PostgresCluster(Path(found[-1]).parent)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (``open_metadata`` puts it in the data directory), else a new
    PostgreSQL database of its own."""
    if request.param == "sqlite":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def metadata(database_url: str | None, tmp_path: Path) -> Iterator[Metadata]:
    opened = open_metadata(database_url, tmp_path)
    yield opened
    opened.close()
