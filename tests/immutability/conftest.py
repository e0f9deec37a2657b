"""Two Dockyards in their secure default mode for the tag-immutability tests.

* ``strict``: ECR's behaviour (a re-push of the same manifest to an immutable tag fails).
* ``repush``: started with ``--idempotent-immutable-repush``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.immutability.helpers import Target
from tests.support.auth import login_password
from tests.support.servers import DockyardProcess


def _target(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[Target]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("immutability-data"),
        open_access=False,
        extra_args=list(args),
        log_dir=tmp_path_factory.mktemp("immutability-log"),
    )
    with proc.serving():
        yield Target(proc, login_password(proc.url))


@pytest.fixture(scope="package")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(tmp_path_factory)


@pytest.fixture(scope="package")
def repush(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(tmp_path_factory, "--idempotent-immutable-repush")
