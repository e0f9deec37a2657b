"""The server's own periodic GC frees deleted content while it serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gc.helpers import blob_files, usage
from tests.support.ecr import login_client, make_client, push_v2
from tests.support.images import make_layer
from tests.support.lifecycle import (
    dockyard,
    pull_and_verify,
    small_image,
    start_dockyard,
    stop_dockyard,
    table_rows,
    wait_for,
)
from tests.support.postgres import Database

pytestmark = pytest.mark.timeout(60)


def test_periodic_gc_frees_deleted_content(tmp_path: Path, database: Database) -> None:
    server = start_dockyard(
        tmp_path / "data",
        tmp_path / "log",
        {
            "DOCKYARD_GC_INTERVAL": "1s",
            "DOCKYARD_GC_GRACE_PERIOD": "2s",
            "DOCKYARD_LIFECYCLE_INTERVAL": "0",
        },
        database_url=database.url,
    )
    try:
        ecr = make_client(server.url)
        ecr.create_repository(repositoryName="online/a")
        ecr.create_repository(repositoryName="online/b")
        shared = make_layer("online/shared", files=2)
        doomed, kept = small_image("doomed", shared, unique_layers=2), small_image("kept", shared)
        with login_client(ecr, server.url) as v2:
            push_v2(v2, "online/a", doomed, "v1")
            push_v2(v2, "online/b", kept, "v1")
            unique = {b.digest for b in doomed.blobs} - {b.digest for b in kept.blobs}
            assert unique <= blob_files(server.data_dir).keys()
            ecr.batch_delete_image(repositoryName="online/a", imageIds=[{"imageTag": "v1"}])

            wait_for(
                "the server's GC freeing the deleted image's blobs",
                lambda: not unique & blob_files(server.data_dir).keys(),
                timeout=15,
                interval=0.5,
            )
            assert blob_files(server.data_dir).keys() == {b.digest for b in kept.blobs}
            pull_and_verify(v2, "online/b", "v1", kept)
            # A push after the sweep brings the freed content back.
            push_v2(v2, "online/a", doomed, "v2")
            pull_and_verify(v2, "online/a", "v2", doomed)
        assert usage(server.data_dir)["online/b"] == sum(b.size for b in kept.blobs)
        jobs = table_rows(dockyard(server.data_dir, "jobs", "--limit", "200").stdout)
        assert any(row[1] == "gc" and row[2] == "done" for row in jobs), jobs
        assert not any(row[2] == "failed" for row in jobs), jobs
    except BaseException:
        if server.running:
            server.kill()
        raise
    else:
        stop_dockyard(server)
