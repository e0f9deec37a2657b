"""Real Dockyard nodes started with the deployment's settings and keys.

The compose file's node environment runs here on the embedded engines (SQLite and the
filesystem in a shared data directory stand in for PostgreSQL and S3, which a container
engine would start): the image's and the compose file's health checks pass against it, its
logs are JSON, and a registry password issued by one node works on another only when both
have the same keys — what deploy/ and the README's "Running at scale" promise.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.deploy.test_manifests import NODES, compose, filled_env, instruction, node_env
from tests.support.auth import basic, ecr_client, login_password
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(180)

ENGINES = {
    "DOCKYARD_DATABASE_URL",
    "DOCKYARD_STORAGE_BACKEND",
    "DOCKYARD_S3_BUCKET",
    "DOCKYARD_S3_ENDPOINT_URL",
    "DOCKYARD_S3_REGION",
    "DOCKYARD_S3_ACCESS_KEY_ID",
    "DOCKYARD_S3_SECRET_ACCESS_KEY",
    "DOCKYARD_BLOB_REDIRECT",
    "DOCKYARD_PUBLIC_URL",
}


def a_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def node_settings(env: dict[str, str]) -> dict[str, str]:
    """A compose node's environment, less what points at PostgreSQL, S3 and the LB, with
    the test's root key (DockyardProcess sets that)."""
    given = node_env(NODES[0], env)
    return {k: v for k, v in given.items() if k not in ENGINES and "ROOT" not in k}


@pytest.fixture
def shared_env() -> dict[str, str]:
    return filled_env()


@pytest.fixture
def node(tmp_path: Path, shared_env: dict[str, str]) -> Iterator[DockyardProcess]:
    server = DockyardProcess(
        tmp_path / "data", env=node_settings(shared_env), log_dir=tmp_path, open_access=False
    )
    with server.serving():
        yield server


def test_the_images_healthcheck_passes_against_a_node(node: DockyardProcess) -> None:
    (healthcheck,) = instruction("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    env = {**os.environ, "DOCKYARD_PORT": str(node.port)}
    done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_the_compose_healthcheck_passes_against_a_node(node: DockyardProcess) -> None:
    test = compose()["services"][NODES[0]]["healthcheck"]["test"]
    code = test[3].replace(":5000/", f":{node.port}/")
    assert code != test[3], "the check names the node's port"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode == 0, done.stderr


def test_probes_need_no_credentials(node: DockyardProcess) -> None:
    assert httpx.get(f"{node.url}/v2/").status_code == 401  # authentication is on
    assert httpx.get(f"{node.url}/livez").status_code == 200
    health = httpx.get(f"{node.url}/healthz")
    assert health.status_code == 200, health.text


def test_logs_are_json(node: DockyardProcess) -> None:
    httpx.get(f"{node.url}/healthz")
    lines = [line for line in node.log_text().splitlines() if line.startswith("{")]
    assert lines, node.log_text()
    for line in lines:
        assert isinstance(json.loads(line), dict)


def test_nodes_with_the_same_keys_accept_each_others_passwords(
    tmp_path: Path, shared_env: dict[str, str], node: DockyardProcess
) -> None:
    password = login_password(node.url)
    data = tmp_path / "data"
    other_tokens = {**shared_env, "DOCKYARD_TOKENS_KEY": a_key()}
    other = DockyardProcess(
        data, env=node_settings(other_tokens), log_dir=tmp_path / "other", open_access=False
    )
    other_secrets = {**shared_env, "DOCKYARD_SECRETS_KEY": a_key()}
    third = DockyardProcess(
        data, env=node_settings(other_secrets), log_dir=tmp_path / "third", open_access=False
    )
    same = DockyardProcess(
        data, env=node_settings(shared_env), log_dir=tmp_path / "same", open_access=False
    )
    with same.serving():
        assert httpx.get(f"{same.url}/v2/", headers=basic(password)).status_code == 200
        ecr_client(same.url).describe_repositories()
    with other.serving():
        # Another tokens key: the password the first node issued is refused.
        assert httpx.get(f"{other.url}/v2/", headers=basic(password)).status_code == 401
    with third.serving():
        # Another secrets key: the stored access-key secret cannot be opened, so a signed
        # call that the first node accepts fails here.
        with pytest.raises(ClientError):
            ecr_client(third.url).describe_repositories()
        assert "does not decrypt with this secrets key" in third.log_text()
        # ... and says so to the load balancer, which then sends it no traffic.
        health = httpx.get(f"{third.url}/healthz")
        assert health.status_code == 503, health.text
        assert health.json()["secrets"] == "failed: KeyMaterialError"
        assert health.json()["database"] == health.json()["storage"] == "ok"
