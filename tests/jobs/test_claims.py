"""Claiming from one queue by many nodes at once: each job goes to exactly one of them.

On PostgreSQL a claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` then an update in one
transaction; on SQLite the one writer at a time decides. Each claimer here has its own
engine (its own connection pool, as a process or node has), and they all claim at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dockyard.metadata import Metadata, open_metadata
from dockyard.metadata.jobs import DONE
from tests.support.postgres import Database

JOBS = 300
CLAIMERS = 8
LEASE = timedelta(hours=1)  # no lease runs out here: a job claimed twice is a bug


def test_concurrent_claimers_each_job_runs_once(tmp_path: Path, database: Database) -> None:
    nodes = [open_metadata(database.url, tmp_path) for _ in range(CLAIMERS)]
    try:
        start = datetime.now(UTC)
        queued = {
            nodes[0].jobs.enqueue("claim-test", None, {"n": n}, start, start) for n in range(JOBS)
        }
        assert len(queued) == JOBS
        claimed: dict[str, list[int]] = {f"node-{i}": [] for i in range(CLAIMERS)}
        errors: list[BaseException] = []
        go = threading.Barrier(CLAIMERS)

        def claim_all(owner: str, node: Metadata) -> None:
            try:
                go.wait()
                while (
                    job := node.jobs.claim(owner, datetime.now(UTC), LEASE, max_attempts=3)
                ) is not None:
                    claimed[owner].append(job.id)
                    assert node.jobs.finish(job.id, owner, {"by": owner}, datetime.now(UTC))
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=claim_all, args=(owner, node))
            for owner, node in zip(claimed, nodes, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        counts = Counter(job_id for ids in claimed.values() for job_id in ids)
        assert set(counts) == queued, "some jobs were never claimed"
        assert max(counts.values()) == 1, [j for j, n in counts.items() if n > 1]
        # The work was shared: more than one claimer got jobs.
        assert sum(1 for ids in claimed.values() if ids) > 1, {
            k: len(v) for k, v in claimed.items()
        }
        for job_id in list(queued)[:20]:
            record = nodes[0].jobs.get(job_id)
            assert record is not None
            assert (record.state, record.attempts) == (DONE, 1)
    finally:
        for node in nodes:
            node.close()
