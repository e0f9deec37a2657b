"""Fixtures for the pull-through cache rule tests.

* ``server``: one Dockyard for the package in its secure default mode.
* ``ecr``, ``ecr_unvalidated``, ``sm``, ``iam``: boto3 clients of the root of account
  ``000000000000``; ``aws`` / ``aws_sm``: the real ``aws ecr`` / ``aws secretsmanager`` CLI.
* ``upstream``: a CNCF ``docker-registry`` without authentication; ``basic_upstream``: one
  behind htpasswd Basic authentication (user ``UPSTREAM_USER``, ``UPSTREAM_PASSWORD``).
* ``prefix``: a unique ecrRepositoryPrefix; ``secret``: the ARN of a fresh
  ``ecr-pullthroughcache/`` secret holding ``UPSTREAM_USER``'s credentials.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.authz import iam_client
from tests.support.ecr import AwsCli, make_client
from tests.support.secrets import HtpasswdDistribution, aws_env, secrets_client
from tests.support.servers import DistributionProcess, DockyardProcess

UPSTREAM_USER = "cache-bot"
UPSTREAM_PASSWORD = "upstream-password-0123"


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("pullthrough-data"),
        log_dir=tmp_path_factory.mktemp("pullthrough-log"),
        open_access=False,
    )
    with proc.serving():
        yield proc


@pytest.fixture(scope="package")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributionProcess]:
    proc = DistributionProcess(
        tmp_path_factory.mktemp("upstream"), log_dir=tmp_path_factory.mktemp("upstream-log")
    )
    proc.start_ready()
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def basic_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HtpasswdDistribution]:
    proc = HtpasswdDistribution(
        tmp_path_factory.mktemp("basic-upstream"),
        UPSTREAM_USER,
        UPSTREAM_PASSWORD,
        log_dir=tmp_path_factory.mktemp("basic-upstream-log"),
    )
    proc.start_ready()
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def ecr(server: DockyardProcess) -> Any:
    return make_client(server.url)


@pytest.fixture(scope="package")
def ecr_unvalidated(server: DockyardProcess) -> Any:
    return make_client(server.url, validate=False)


@pytest.fixture(scope="package")
def sm(server: DockyardProcess) -> Any:
    return secrets_client(server.url)


@pytest.fixture(scope="package")
def iam(server: DockyardProcess) -> Any:
    return iam_client(server.url)


@pytest.fixture(scope="package")
def aws(server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(server.url, aws_env(tmp_path_factory.mktemp("aws-home")))


@pytest.fixture(scope="package")
def aws_sm(aws: AwsCli) -> AwsCli:
    return AwsCli(aws.endpoint, aws.env, "secretsmanager")


@pytest.fixture
def prefix() -> str:
    return f"ptc-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def secret(sm: Any) -> str:
    value = {"username": UPSTREAM_USER, "accessToken": UPSTREAM_PASSWORD}
    made = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:10]}", SecretString=json.dumps(value)
    )
    return str(made["ARN"])
