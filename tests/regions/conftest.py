"""Fixtures for the region tests.

* ``plain_server``: one Dockyard started without any region setting (secure default:
  SigV4, Basic auth on ``/v2``), which serves every region botocore knows.
* ``restricted_server``: one restricted to ``us-east-1`` and ``eu-west-1`` with the
  registry domain ``registry.test``, so that ``/v2`` chooses the registry by host name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import DockyardProcess

DOMAIN = "registry.test"
SERVED = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="session")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("regions-data"),
        log_dir=tmp_path_factory.mktemp("regions-log"),
        open_access=False,
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@pytest.fixture(scope="session")
def restricted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("restricted-data"),
        log_dir=tmp_path_factory.mktemp("restricted-log"),
        open_access=False,
        extra_args=["--regions", ",".join(SERVED), "--registry-domain", DOMAIN],
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()
