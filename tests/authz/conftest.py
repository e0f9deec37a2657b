"""Fixtures for the access-control tests: one Dockyard in its secure default mode.

* ``authz_server``: the server (``open_access=False``); its account ``000000000000`` is A.
* ``ecr``: a boto3 ECR client of A's root; ``iam``: a boto3 IAM client of A's root.
* ``account_b``: a second account, made with ``dockyard accounts create``.
* ``repo``: a fresh repository of A; ``pushed``: one holding an image tagged v1.
* ``user``: ``user(name, inline=..., managed=...)`` makes an IAM user of A with an inline
  policy and/or AWS-managed policies attached (its name, ARN and access key).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.authz import iam_client, make_user, password_of, v2_client
from tests.support.ecr import make_client
from tests.support.images import make_image, push_image
from tests.support.servers import DockyardProcess
from tests.support.tools import run


@dataclass(frozen=True)
class MadeUser:
    name: str
    key: tuple[str, str]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::000000000000:user/{self.name}"


MakeUser = Callable[..., MadeUser]


@pytest.fixture(scope="package")
def authz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("authz-data"),
        log_dir=tmp_path_factory.mktemp("authz-log"),
        open_access=False,
    )
    with proc.serving():
        yield proc


@pytest.fixture(scope="package")
def ecr(authz_server: DockyardProcess) -> Any:
    return make_client(authz_server.url)


@pytest.fixture(scope="package")
def ecr_unvalidated(authz_server: DockyardProcess) -> Any:
    return make_client(authz_server.url, validate=False)


@pytest.fixture(scope="package")
def iam(authz_server: DockyardProcess) -> Any:
    return iam_client(authz_server.url)


@pytest.fixture(scope="package")
def account_b(authz_server: DockyardProcess) -> tuple[str, Any]:
    """A second account (``dockyard accounts create``): its id and an IAM client of its root."""
    out = run(
        [
            sys.executable,
            "-m",
            "dockyard",
            "accounts",
            "create",
            "--data-dir",
            str(authz_server.data_dir),
        ]
    ).stdout
    made = dict(line.split("=", 1) for line in out.split())
    key = (made["AWS_ACCESS_KEY_ID"], made["AWS_SECRET_ACCESS_KEY"])
    return made["AWS_ACCOUNT_ID"], iam_client(authz_server.url, key)


@pytest.fixture
def repo(ecr: Any) -> str:
    name = f"authz/{uuid.uuid4().hex[:12]}"
    ecr.create_repository(repositoryName=name)
    return name


@pytest.fixture
def user(iam: Any) -> MakeUser:
    def make(
        prefix: str,
        *,
        inline: dict[str, Any] | None = None,
        managed: tuple[str, ...] = (),
    ) -> MadeUser:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        text = json.dumps(inline) if inline else None
        return MadeUser(name, make_user(iam, name, inline=text, managed=managed))

    return make


@pytest.fixture
def pushed(authz_server: DockyardProcess, ecr: Any, repo: str) -> tuple[str, str]:
    """``repo`` holding one image tagged v1 (pushed by A's root); (repo, digest)."""
    image = make_image(f"authz/{repo}", layers=1)
    with v2_client(authz_server, password_of(ecr)) as root:
        push_image(root, repo, image, tag="v1")
    return repo, image.digest
