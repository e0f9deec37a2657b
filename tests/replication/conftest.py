"""Fixtures for the replication tests: one Dockyard serving two regions of one deployment.

* ``server``: Dockyard in its secure default mode, restricted to ``us-east-1`` and
  ``eu-west-1``, with the registry domain ``registry.test`` (so ``/v2`` picks a registry by
  its ECR-shaped host name) and a short job lease.
* ``account_b``: a second account of the deployment (``dockyard accounts create``).
* ``virginia`` / ``ireland``: boto3 ECR clients of account A's root in each region, which
  also know Dockyard's backfill operations.
* ``name``: a repository name no other test uses, under ``prefix`` (each test's rules
  filter on its own prefix, so the tests' configurations never replicate each other's
  images).
* ``distribution`` / ``basic_distribution``: CNCF ``docker-registry`` as an external
  destination, open, and behind htpasswd Basic authentication (``MIRROR_USER``,
  ``MIRROR_PASSWORD``).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.ecr import extended_client
from tests.support.secrets import HtpasswdDistribution
from tests.support.servers import DistributionProcess, DockyardProcess
from tests.support.tools import run

DOMAIN = "registry.test"
VIRGINIA, IRELAND = "us-east-1", "eu-west-1"
ACCOUNT_A = "000000000000"
MIRROR_USER = "mirror-bot"
MIRROR_PASSWORD = "mirror-password-5f0c1e9a7b"


@dataclass(frozen=True)
class Account:
    id: str
    key: tuple[str, str]

    def ecr(self, server: DockyardProcess, region: str) -> Any:
        return extended_client(
            server.url, region, access_key_id=self.key[0], secret_access_key=self.key[1]
        )


def serve(data_dir: Any, log_dir: Any, database_url: str | None = None) -> DockyardProcess:
    return DockyardProcess(
        data_dir,
        log_dir=log_dir,
        open_access=False,
        extra_args=["--regions", f"{VIRGINIA},{IRELAND}", "--registry-domain", DOMAIN],
        env={"DOCKYARD_JOB_LEASE": "4s"},
        database_url=database_url,
    )


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = serve(tmp_path_factory.mktemp("replication-data"), tmp_path_factory.mktemp("log"))
    with proc.serving():
        yield proc


def make_account(server: DockyardProcess) -> Account:
    out = run(
        [
            sys.executable,
            "-m",
            "dockyard",
            "accounts",
            "create",
            "--data-dir",
            str(server.data_dir),
        ]
    ).stdout
    made = dict(line.split("=", 1) for line in out.split())
    return Account(
        made["AWS_ACCOUNT_ID"], (made["AWS_ACCESS_KEY_ID"], made["AWS_SECRET_ACCESS_KEY"])
    )


@pytest.fixture(scope="package")
def account_b(server: DockyardProcess) -> Account:
    return make_account(server)


@pytest.fixture(scope="package")
def virginia(server: DockyardProcess) -> Any:
    return extended_client(server.url, VIRGINIA)


@pytest.fixture(scope="package")
def ireland(server: DockyardProcess) -> Any:
    return extended_client(server.url, IRELAND)


@pytest.fixture
def prefix() -> str:
    return f"r{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def name(prefix: str) -> str:
    return f"{prefix}app"


@pytest.fixture(scope="package")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributionProcess]:
    proc = DistributionProcess(
        tmp_path_factory.mktemp("mirror"), log_dir=tmp_path_factory.mktemp("mirror-log")
    )
    proc.start_ready()
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def basic_distribution(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HtpasswdDistribution]:
    proc = HtpasswdDistribution(
        tmp_path_factory.mktemp("basic-mirror"),
        MIRROR_USER,
        MIRROR_PASSWORD,
        log_dir=tmp_path_factory.mktemp("basic-mirror-log"),
    )
    proc.start_ready()
    yield proc
    proc.stop()
