"""Helpers for tests that log in the way ECR clients do: SigV4 on ``POST /``, Basic on ``/v2``.

Shared by ``tests/auth`` and ``tests/immutability``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.servers import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    DockyardProcess,
    database_url_of,
)
from tests.support.tools import run

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
ROOT_KEY = (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)

StartDockyard = Callable[..., DockyardProcess]

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "ROOT_KEY",
    "SecretLedger",
    "StartDockyard",
    "assert_unauthorized",
    "aws_cli_env",
    "basic",
    "challenge",
    "dockyard_cli",
    "ecr_client",
    "ecr_error",
    "grant_policy",
    "login_password",
    "mint_token",
    "new_user_key",
    "oci_error",
    "wait_until",
]


class SecretLedger:
    """Every secret a test saw (access-key secrets, registry passwords), to search logs for."""

    def __init__(self) -> None:
        self.values: set[str] = {ROOT_SECRET_ACCESS_KEY}

    def add(self, value: str) -> str:
        self.values.add(value)
        return value

    def add_password(self, password: str) -> str:
        """A registry password, and the ``authorizationToken`` / Basic value made from it."""
        self.values.add(password)
        self.values.add(base64.b64encode(f"AWS:{password}".encode()).decode())
        return password


def ecr_client(
    url: str,
    key: tuple[str, str] = ROOT_KEY,
    *,
    session_token: str | None = None,
) -> BaseClient:
    """A boto3 ECR client for `url` that never retries and reads no AWS config files."""
    session = boto3.session.Session(
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=session_token,
        region_name=REGION,
    )
    return session.client(
        "ecr",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60),
    )


def ecr_error(exc: ClientError) -> tuple[str, str]:
    """(error code, message) of a botocore ClientError."""
    error = exc.response.get("Error", {})
    return str(error.get("Code")), str(error.get("Message"))


def login_password(url: str, key: tuple[str, str] = ROOT_KEY) -> str:
    """The registry password GetAuthorizationToken gives for `key` (the part after ``AWS:``)."""
    data = ecr_client(url, key).get_authorization_token()["authorizationData"][0]
    user, sep, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert (user, sep) == ("AWS", ":"), "authorizationToken must be base64 of AWS:<password>"
    assert password
    return password


def basic(password: str, user: str = "AWS") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def dockyard_cli(data_dir: Path, *args: str) -> str:
    """``python -m dockyard ARGS --data-dir DATA_DIR`` (on the server's database); its stdout."""
    command = [sys.executable, "-m", "dockyard", *args, "--data-dir", str(data_dir)]
    return run(command, env=_cli_env(data_dir)).stdout


def _cli_env(data_dir: Path) -> dict[str, str] | None:
    """The server's database for a CLI run beside it, when it is not SQLite in its data dir."""
    url = database_url_of(Path(data_dir))
    return {"DOCKYARD_DATABASE_URL": url} if url else None


def mint_token(data_dir: Path, subject: str, expires_at: float, purpose: str = "login") -> str:
    """A registry password made the way ``dockyard.auth.tokens.issue`` makes them.

    This reads the server's signing key from ``<data-dir>/keys/tokens.key`` (a test-only
    shortcut: nothing outside the server should ever read it) so that a token can be given
    any expiry without waiting 12 hours for a real one to lapse.
    """
    key = (data_dir / "keys" / "tokens.key").read_bytes().strip()
    claims = {"purpose": purpose, "subject": subject, "expires_at": expires_at}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


POWER_USER = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"


def grant_policy(data_dir: Path, user: str, policy_arn: str = POWER_USER) -> None:
    """Attach a managed policy to IAM user `user` with the CLI (the server reads identity
    policies at each request, within a second)."""
    dockyard_cli(data_dir, "iam", "attach-policy", policy_arn, "--user", user)


_KEY_LINE = re.compile(r"^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)$", re.MULTILINE)


def new_user_key(
    data_dir: Path,
    user: str,
    ledger: SecretLedger | None = None,
    policy_arn: str | None = POWER_USER,
) -> tuple[str, str]:
    """Create IAM user `user` (once, with `policy_arn` attached: by default ECR's power-user
    policy, enough to log in, push and pull) and a new access key for it with the CLI."""
    made = run(
        [sys.executable, "-m", "dockyard", "iam", "create-user", user, "--data-dir", data_dir],
        env=_cli_env(data_dir),
        check=False,
    )
    assert made.returncode == 0 or "exists" in made.stderr, made.stderr
    if made.returncode == 0 and policy_arn is not None:
        grant_policy(Path(data_dir), user, policy_arn)
    out = dict(
        _KEY_LINE.findall(dockyard_cli(data_dir, "iam", "create-access-key", "--user", user))
    )
    key = (out["AWS_ACCESS_KEY_ID"], out["AWS_SECRET_ACCESS_KEY"])
    if ledger is not None:
        ledger.add(key[1])
    return key


def aws_cli_env(key: tuple[str, str] = ROOT_KEY) -> dict[str, str]:
    """Environment for the ``aws`` CLI using `key` and no configuration files."""
    return {
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }


def wait_until(probe: Callable[[], bool], timeout: float, interval: float = 0.05) -> float | None:
    """Call `probe` until it is true; seconds it took, or None if `timeout` passed first."""
    start = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def oci_error(response: httpx.Response) -> dict[str, Any]:
    """The single entry of an OCI error body, checking the body's shape on the way."""
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    body = json.loads(response.content)
    assert isinstance(body.get("errors"), list) and len(body["errors"]) == 1, body
    entry: dict[str, Any] = body["errors"][0]
    return entry


def challenge(server: DockyardProcess) -> str:
    return f'Basic realm="{server.url}",service="ecr.amazonaws.com"'


def assert_unauthorized(
    server: DockyardProcess, response: httpx.Response, *, secret: str | None = None
) -> None:
    """401, the exact challenge, the API version header, and (unless HEAD) OCI error JSON."""
    assert response.status_code == 401, (response.request.method, response.text)
    assert response.headers.get_list("WWW-Authenticate") == [challenge(server)]
    assert response.headers.get("Docker-Distribution-Api-Version") == "registry/2.0"
    if response.request.method != "HEAD":
        error = oci_error(response)
        assert error["code"] == "UNAUTHORIZED"
        assert isinstance(error["message"], str) and error["message"]
        if secret is not None:
            assert secret not in response.text, "a 401 must not echo the credentials"
