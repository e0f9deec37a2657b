"""First start without root keys in the environment: Dockyard makes them, shows them once.

``DockyardProcess`` always puts the test root keys into the environment, so these tests
run ``python -m dockyard serve`` themselves (with its command line) and an environment
from which every ``DOCKYARD_*`` key variable has been removed.
"""

from __future__ import annotations

import configparser
import os
import pty
import select
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.auth import (
    ROOT_KEY,
    SecretLedger,
    basic,
    ecr_client,
    ecr_error,
    login_password,
    new_user_key,
)
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(90)

KEY_ENV = (
    "DOCKYARD_ROOT_ACCESS_KEY_ID",
    "DOCKYARD_ROOT_SECRET_ACCESS_KEY",
    "DOCKYARD_SECRETS_KEY",
    "DOCKYARD_TOKENS_KEY",
)


@dataclass
class Run:
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


@contextmanager
def serve_without_root_env(data_dir: Path, logs: Path, name: str) -> Iterator[Run]:
    spec = DockyardProcess(data_dir, open_access=False)  # for its command line only
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV}
    run = Run(spec.url, logs / f"{name}.out", logs / f"{name}.err")
    with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
        proc = subprocess.Popen(
            spec.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
        )
        try:
            _wait_ready(proc, run)
            yield run
        finally:
            proc.terminate()
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
    assert code == 0, f"exit code {code}:\n{run.output()}"


def _wait_ready(proc: subprocess.Popen[bytes], run: Run) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockyard exited with {proc.returncode}:\n{run.output()}")
        try:
            if httpx.get(run.url + "/v2/", timeout=2).status_code == 401:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(run.output())


def read_credentials(path: Path) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read_string(path.read_text())
    section = parser["default"]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_root_credentials_bootstrap(tmp_path: Path, ledger: SecretLedger) -> None:
    data_dir, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    credentials = data_dir / "root-credentials"

    with serve_without_root_env(data_dir, logs, "first") as first:
        assert credentials.is_file()
        assert mode(credentials) == 0o600
        key_id, secret = read_credentials(credentials)
        ledger.add(secret)
        assert key_id.startswith("AKIA") and len(key_id) == 20
        assert len(secret) >= 32 and secret != ROOT_KEY[1]

        # They are working root keys: the ECR API and, through a login, /v2.
        client = ecr_client(first.url, (key_id, secret))
        client.create_repository(repositoryName="bootstrap/check")
        names = [r["repositoryName"] for r in client.describe_repositories()["repositories"]]
        assert names == ["bootstrap/check"]
        password = ledger.add_password(login_password(first.url, (key_id, secret)))
        assert httpx.get(first.url + "/v2/", headers=basic(password)).status_code == 200
        # The test root keys are not a thing on this server.
        with pytest.raises(ClientError) as refused:
            ecr_client(first.url).describe_repositories()
        assert ecr_error(refused.value)[0] == "UnrecognizedClientException"

        # A user key too, to check it is not stored in plaintext either.
        user_secret = new_user_key(data_dir, "bootstrap-user", ledger)[1]

    # stderr is a file here, as under a service manager: it names the file and the key id,
    # never the secret (a terminal gets the secret: test_root_secret_shown_on_a_terminal).
    err, out = first.stderr.read_text(), first.stdout.read_text()
    assert err.count("Created root credentials") == 1, err
    assert str(credentials) in err  # says where they were saved
    assert key_id in err
    assert secret not in err and secret not in out

    # Server keys: files 0600 in a directory only the owner can enter.
    key_dir = data_dir / "keys"
    key_files = sorted(p.name for p in key_dir.iterdir())
    assert {"secrets.key", "tokens.key"} <= set(key_files), key_files
    assert mode(key_dir) & 0o077 == 0, oct(mode(key_dir))
    for name in key_files:
        assert mode(key_dir / name) == 0o600, (name, oct(mode(key_dir / name)))

    # No secret in plaintext anywhere in the metadata database (WAL and journal included).
    db_files = [p for p in data_dir.iterdir() if p.name.startswith("metadata.db")]
    assert data_dir / "metadata.db" in db_files
    for db in db_files:
        raw = db.read_bytes()
        for value in (secret, user_secret):
            assert value.encode() not in raw, f"a secret key is stored in plaintext in {db.name}"

    before = credentials.read_bytes(), credentials.stat().st_mtime_ns
    with serve_without_root_env(data_dir, logs, "second") as second:
        # Still the same, still working.
        assert (credentials.read_bytes(), credentials.stat().st_mtime_ns) == before
        assert mode(credentials) == 0o600
        client = ecr_client(second.url, (key_id, secret))
        assert client.describe_repositories()["repositories"][0]["repositoryName"] == (
            "bootstrap/check"
        )
    again = second.output()
    assert secret not in again, "root secret shown again on restart"
    assert "AWS_SECRET_ACCESS_KEY" not in again
    assert "Created root credentials" not in again


def test_no_root_credentials_file_with_keys_from_env(auth_server: DockyardProcess) -> None:
    """Root keys from the environment are not written to the data directory."""
    assert not (auth_server.data_dir / "root-credentials").exists()
    assert ecr_client(auth_server.url).describe_repositories() is not None
    for db in auth_server.data_dir.iterdir():
        if db.name.startswith("metadata.db"):
            assert ROOT_KEY[1].encode() not in db.read_bytes()


def test_root_secret_shown_on_a_terminal(tmp_path: Path, ledger: SecretLedger) -> None:
    """Someone starting Dockyard by hand sees the new root key once, secret included."""
    data_dir = tmp_path / "data"
    spec = DockyardProcess(data_dir, open_access=False)  # for its command line only
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV}
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        spec.command(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    shown = b""
    try:
        deadline = time.monotonic() + 30
        while b"AWS_SECRET_ACCESS_KEY=" not in shown or not shown.endswith(b"\n"):
            assert time.monotonic() < deadline and proc.poll() is None, shown
            if select.select([controller], [], [], 0.5)[0]:
                shown += os.read(controller, 4096)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        os.close(controller)
    key_id, secret = read_credentials(data_dir / "root-credentials")
    ledger.add(secret)
    text = shown.decode()
    assert f"AWS_ACCESS_KEY_ID={key_id}" in text, text
    assert text.count(f"AWS_SECRET_ACCESS_KEY={secret}") == 1, text
