"""Helpers for the Secrets Manager and pull-through cache tests: clients of the server's
Secrets Manager door, the aws CLI's environment, and CNCF registries to be an upstream."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support.ecr import REGION
from tests.support.servers import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    DistributionProcess,
    _yaml_str,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # gone in 3.13; fine on 3.11
    import crypt  # bcrypt for distribution's htpasswd: the libc's crypt makes $2b$ hashes

ROOT_KEY = (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
ARN_PATTERN = r"^arn:aws:secretsmanager:{region}:{account}:secret:{name}-[A-Za-z0-9]{{6}}$"


def secrets_client(
    url: str,
    region: str = REGION,
    key: tuple[str, str] = ROOT_KEY,
    validate: bool = True,
) -> Any:
    """A boto3 Secrets Manager client on ``url`` (no retries: errors show as errors)."""
    session = boto3.session.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name=region
    )
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        read_timeout=60,
        parameter_validation=validate,
    )
    return session.client("secretsmanager", endpoint_url=url, config=config)


def aws_env(home: Path, key: tuple[str, str] = ROOT_KEY) -> dict[str, str]:
    """The environment of an ``aws`` CLI run as ``key``, with nothing of the host's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )
    return env


class HtpasswdDistribution(DistributionProcess):
    """CNCF distribution behind Basic authentication (its ``htpasswd`` auth) with one user."""

    name = "distribution-htpasswd"

    def __init__(self, root_dir: Path, username: str, password: str, **kwargs: Any) -> None:
        super().__init__(root_dir, **kwargs)
        self.username, self.password = username, password

    def write_config(self) -> Path:
        path = super().write_config()
        users = self.root_dir / "htpasswd"
        salt = "$2b$05$" + os.urandom(16).hex()[:22]
        users.write_text(f"{self.username}:{crypt.crypt(self.password, salt)}\n")
        with path.open("a") as config:
            config.write(
                "auth:\n"
                "  htpasswd:\n"
                "    realm: dockyard-tests\n"
                f"    path: {_yaml_str(str(users))}\n"
            )
        return path
