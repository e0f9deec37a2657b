"""Replication on a server over PostgreSQL: statuses, jobs, backfills, replica records and
external registrations are written by the database there too (the store's own tests run
on both engines; this runs the whole path once on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA, serve
from tests.replication.helpers import manifest_digest, rule, settled, v2, wait_for
from tests.support.ecr import extended_client
from tests.support.images import make_image, push_image
from tests.support.postgres import new_database
from tests.support.servers import DockyardProcess


@pytest.fixture
def on_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DockyardProcess]:
    database = new_database(request, "postgresql")
    proc = serve(tmp_path / "data", tmp_path / "log", database.url)
    with proc.serving():
        yield proc


def test_replication_and_a_backfill_over_postgresql(on_postgres: DockyardProcess) -> None:
    virginia = extended_client(on_postgres.url, VIRGINIA)
    ireland = extended_client(on_postgres.url, IRELAND)
    before, after = make_image("pg-before", layers=1), make_image("pg-after", layers=2)
    virginia.create_repository(repositoryName="pg/app")
    with v2(on_postgres, virginia, VIRGINIA) as client:
        push_image(client, "pg/app", before, "before")
        virginia.put_replication_configuration(
            replicationConfiguration={
                "rules": [{**rule("pg/", (ACCOUNT_A, IRELAND)), "propagateDeletes": True}]
            }
        )
        push_image(client, "pg/app", after, "after")
    assert settled(virginia, "pg/app", after.digest)[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
    backfill = virginia.start_replication_backfill(repositoryName="pg/app")["backfill"]

    def finished() -> bool | None:
        got = virginia.describe_replication_backfill_results(backfillId=backfill["backfillId"])
        return True if got["backfill"]["status"] == "COMPLETE" else None

    wait_for("the backfill", finished)
    with v2(on_postgres, ireland, IRELAND) as client:
        assert manifest_digest(client, "pg/app", "before") == before.digest
        assert manifest_digest(client, "pg/app", "after") == after.digest

    # Delete propagation and a sealed external registration, on PostgreSQL's types too.
    virginia.batch_delete_image(repositoryName="pg/app", imageIds=[{"imageTag": "after"}])
    with v2(on_postgres, ireland, IRELAND) as client:

        def gone() -> bool | None:
            return True if manifest_digest(client, "pg/app", after.digest) is None else None

        wait_for("the replica deleted", gone)
        assert manifest_digest(client, "pg/app", "before") == before.digest
    made = virginia.create_external_registry(
        name="pg-mirror", url="registry.example.com", username="u", password="pg-secret-pw"
    )["externalRegistry"]
    assert made["hasPassword"] is True and made["url"] == "https://registry.example.com"
    listed = virginia.describe_external_registries()["externalRegistries"]
    assert [r["name"] for r in listed] == ["pg-mirror"]
