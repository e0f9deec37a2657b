"""The lifecycle/GC stress run with its writers spread over two nodes, over one PostgreSQL
database and one S3 bucket prefix (the single-node form is tests/gc/test_stress.py)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from bench.stress import StressConfig, run

from tests.support.postgres import PostgresCluster
from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedFS

pytestmark = pytest.mark.timeout(300)


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_two_nodes_push_delete_expire_and_collect_and_lose_nothing(
    tmp_path: Path, postgres: PostgresCluster, seaweed: SeaweedFS
) -> None:
    node_env = {
        "DOCKYARD_STORAGE_BACKEND": "s3",
        "DOCKYARD_S3_BUCKET": BUCKET,
        "DOCKYARD_S3_PREFIX": seaweed.fresh_prefix(),
        "DOCKYARD_S3_ENDPOINT_URL": seaweed.endpoint,
        "DOCKYARD_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "DOCKYARD_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "DOCKYARD_SECRETS_KEY": _key(),
        "DOCKYARD_TOKENS_KEY": _key(),
        "DOCKYARD_WORKERS": "2",
    }
    report = run(
        StressConfig(
            seconds=15,
            work_dir=tmp_path / "stress",
            keep=True,
            database_url=postgres.create_database(),
            nodes=2,
            node_env=node_env,
        )
    )
    print(report.summary())
    assert report.pushed > 30 and report.deleted > 10 and report.tag_moves > 10, report.summary()
    assert report.expired_by_lifecycle > 0, report.summary()
    assert report.gc_cli_passes >= 2, report.summary()
    assert report.verified_at_end > 0, report.summary()
    assert report.blob_files_at_end > 0, report.summary()
    assert not report.problems, report.summary()
    assert not report.push_failures, report.summary()
