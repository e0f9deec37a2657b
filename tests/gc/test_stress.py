"""The stress run, short form (the long form: ``python -m bench.stress --seconds 300``), on
the embedded default; on PostgreSQL (and S3, with two nodes) it runs in
tests/scale/test_stress_nodes.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.stress import StressConfig, run

pytestmark = pytest.mark.timeout(180)


def test_concurrent_push_delete_lifecycle_and_gc_lose_nothing(tmp_path: Path) -> None:
    config = StressConfig(seconds=15, work_dir=tmp_path / "stress", keep=True)
    report = run(config)
    print(report.summary())
    assert report.pushed > 50 and report.deleted > 20 and report.tag_moves > 20, report.summary()
    assert report.expired_by_lifecycle > 0, report.summary()
    assert report.gc_cli_passes >= 3, report.summary()
    assert report.server_gc_jobs.get("done", 0) >= 5, report.summary()
    assert report.verified_at_end > 0, report.summary()
    assert not report.problems, report.summary()
    # Every push here uploads all its blobs and then its manifest at once: inside the grace
    # period, so none may fail.
    assert not report.push_failures, report.summary()
