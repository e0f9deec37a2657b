"""Fixtures for the ECR control-plane tests.

* ``ecr_server``: one Dockyard per session in its secure default mode (``open_access=False``:
  SigV4 on the ECR API, Basic auth on ``/v2``, no repository created on push). The modules
  in ``ON_EACH_ENGINE`` (listings, pagination, settings: metadata behaviour) run against
  one on SQLite and one on PostgreSQL; the others against the SQLite one.
* ``ecr``: a boto3 ECR client for the root credentials of account ``000000000000``.
* ``aws``: runs the real ``aws`` CLI (v1) against the server and returns its parsed JSON.
* ``repo_name``: a unique, valid, not-yet-existing repository name; ``repo``: one created.
* ``v2``: an ``httpx.Client`` on ``/v2`` with Basic auth from GetAuthorizationToken.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ecr import REGION, AwsCli, login_client, make_client
from tests.support.postgres import ENGINES, new_database
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

ON_EACH_ENGINE = frozenset({"test_images", "test_repositories", "test_registry"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in ON_EACH_ENGINE and "ecr_server" in metafunc.fixturenames:
        metafunc.parametrize("ecr_engine", ENGINES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def ecr_engine(request: pytest.FixtureRequest) -> str:
    """The server's metadata engine: each in turn for ``ON_EACH_ENGINE``, else SQLite."""
    engine: str = getattr(request, "param", "sqlite")
    return engine


@pytest.fixture(scope="session")
def ecr_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, ecr_engine: str
) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("ecr-data"),
        log_dir=tmp_path_factory.mktemp("ecr-log"),
        open_access=False,
        database_url=new_database(request, ecr_engine).url,
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@pytest.fixture(scope="session")
def endpoint(ecr_server: DockyardProcess) -> str:
    return ecr_server.url


@pytest.fixture(scope="session")
def ecr(endpoint: str) -> Any:
    return make_client(endpoint)


@pytest.fixture(scope="session")
def ecr_unvalidated(endpoint: str) -> Any:
    """The same client without botocore's client-side parameter checks (to reach the server)."""
    return make_client(endpoint, validate=False)


@pytest.fixture(scope="session")
def aws(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    home = tmp_path_factory.mktemp("aws-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        # Nothing from the user's ~/.aws may leak in.
        AWS_CONFIG_FILE=str(Path(home) / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(Path(home) / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )
    return AwsCli(endpoint, env)


@pytest.fixture
def repo_name() -> str:
    """A unique, valid repository name that does not exist yet."""
    return f"ecr-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def repo(ecr: Any, repo_name: str) -> str:
    """An existing, empty, MUTABLE repository."""
    ecr.create_repository(repositoryName=repo_name)
    return repo_name


@pytest.fixture(scope="session")
def v2(ecr: Any, endpoint: str) -> Iterator[httpx.Client]:
    with login_client(ecr, endpoint) as client:
        yield client
