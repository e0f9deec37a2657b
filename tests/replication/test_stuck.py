"""A replication whose last allowed run died with its server (the job queue then fails the
job without its handler knowing) is reported FAILED, not IN_PROGRESS for ever, and the
operator's retry picks it up. In process, over a real SQLite database and blob store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dockyard.app import open_registry
from dockyard.config import load_settings
from dockyard.domain.digests import Digest
from dockyard.domain.names import RepositoryName, Tag
from dockyard.domain.records import ImageId, RepositoryConfig, RepositoryKey, Scope
from dockyard.domain.replication import (
    Destination,
    ReplicationConfiguration,
    ReplicationRule,
    ReplicationStatus,
)
from dockyard.metadata import open_metadata
from tests.support.images import make_image

SOURCE = RepositoryKey(Scope("000000000000", "us-east-1"), RepositoryName.parse("stuck/app"))
IRELAND = Destination.registry("000000000000", "eu-west-1")


def test_a_dead_last_run_is_reported_failed_and_retried(tmp_path: Path) -> None:
    registry = open_registry(load_settings({"data_dir": tmp_path, "job_lease": "2s"}, None))
    metadata = open_metadata(None, tmp_path)
    image = make_image("stuck", layers=1)

    async def scenario() -> None:
        await registry.repositories.create(SOURCE, RepositoryConfig(), {})
        await registry.replication.configure(
            SOURCE.scope, ReplicationConfiguration((ReplicationRule((IRELAND,)),))
        )
        for blob in image.blobs:
            # The metadata's hold on the blob is what a push needs; no bytes are read.
            metadata.content.link_blob(SOURCE, Digest.parse(blob.digest), blob.size)
        await registry.manifests.put(
            SOURCE, Tag.parse("v1"), image.manifest.data, image.manifest.media_type
        )
        _, (queued,) = await registry.replication.statuses(SOURCE, ImageId(tag="v1"))
        assert queued.status is ReplicationStatus.IN_PROGRESS
        # Every run allowed began, the last a lease ago, and none ended: the job was taken
        # by a node that died, each time (claims with leases that ran out at once).
        (job,) = metadata.jobs.recent(1)
        assert job.kind == "replicate-image"
        for run in range(registry.jobs.max_attempts):
            at = job.run_after + timedelta(microseconds=run)
            assert metadata.jobs.claim("dead-node", at, timedelta(0), 3) is not None
        long_ago = datetime.now(UTC) - timedelta(seconds=30)
        for _ in range(registry.jobs.max_attempts):
            metadata.replication.started(SOURCE, image.digest, IRELAND, long_ago)
        _, (stuck,) = await registry.replication.statuses(SOURCE, ImageId(tag="v1"))
        assert (stuck.status, stuck.failure_code) == (ReplicationStatus.FAILED, "REPLICATION_ERROR")
        assert stuck.last_error == "its server stopped during the last run allowed"
        failed = await registry.replication.every_status(status=ReplicationStatus.FAILED)
        assert [(k, d) for k, d, _ in failed] == [(SOURCE, image.digest)]

        (retried,) = await registry.replication.retry(repository="stuck/app")
        assert retried == (SOURCE, image.digest, IRELAND)
        # The queue fails the dead job (its last run's node stopped) and runs the retry.
        assert await registry.jobs.run_due() == 1
        dead = metadata.jobs.get(job.id)
        assert dead is not None and dead.state == "failed"
        _, (done,) = await registry.replication.statuses(SOURCE, ImageId(tag="v1"))
        assert done.status is ReplicationStatus.COMPLETE
        target = RepositoryKey(IRELAND.scope, SOURCE.name)
        got = await registry.manifests.get(target, Tag.parse("v1"))
        assert str(got.digest) == image.digest

    try:
        asyncio.run(scenario())
    finally:
        metadata.close()
        registry.close()
