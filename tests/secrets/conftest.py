"""Fixtures for the Secrets Manager tests.

* ``server``: one Dockyard for the package in its secure default mode, logging at debug
  level (so that the test of what reaches the log sees every line a request can make).
* ``sm``, ``sm_unvalidated``: boto3 Secrets Manager clients of the root of account
  ``000000000000`` (the second sends what botocore's own checks would refuse);
  ``iam``: an IAM client of the root; ``aws``: the real ``aws secretsmanager`` CLI.
* ``name``: a unique secret name under ``ecr-pullthroughcache/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.authz import iam_client
from tests.support.ecr import AwsCli
from tests.support.secrets import aws_env, secrets_client
from tests.support.servers import DockyardProcess


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("secrets-data"),
        log_dir=tmp_path_factory.mktemp("secrets-log"),
        open_access=False,
        extra_args=["--log-level", "debug"],
    )
    with proc.serving():
        yield proc


@pytest.fixture(scope="package")
def sm(server: DockyardProcess) -> Any:
    return secrets_client(server.url)


@pytest.fixture(scope="package")
def sm_unvalidated(server: DockyardProcess) -> Any:
    return secrets_client(server.url, validate=False)


@pytest.fixture(scope="package")
def iam(server: DockyardProcess) -> Any:
    return iam_client(server.url)


@pytest.fixture(scope="package")
def aws(server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(server.url, aws_env(tmp_path_factory.mktemp("aws-home")), "secretsmanager")


@pytest.fixture
def name() -> str:
    return f"ecr-pullthroughcache/t-{uuid.uuid4().hex[:10]}"
