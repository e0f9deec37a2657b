"""Backfills (Dockyard's extension): images pushed before a rule existed are replicated on
request; the operations answer in ECR's shapes and errors."""

from __future__ import annotations

import uuid
from typing import Any

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import manifest_digest, rule, settled, statuses, v2, wait_for
from tests.support.ecr import expect_error, extended_client
from tests.support.images import make_image, push_image
from tests.support.servers import DockyardProcess


def test_a_backfill_replicates_images_pushed_before_the_rule(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str
) -> None:
    names = [f"{prefix}one", f"{prefix}two"]
    images = {n: [make_image(f"{n}-{i}", layers=1) for i in range(2)] for n in names}
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
    with v2(server, virginia, VIRGINIA) as client:
        for repo in names:
            virginia.create_repository(repositoryName=repo)
            for number, image in enumerate(images[repo]):
                push_image(client, repo, image, f"v{number}")
    # Pushed before any rule: nothing was replicated, and a rule does not change that.
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (ACCOUNT_A, IRELAND))]}
    )
    assert statuses(virginia, names[0], images[names[0]][0].digest) == {}

    started = virginia.start_replication_backfill(
        repositoryFilters=[{"filter": prefix, "filterType": "PREFIX_MATCH"}]
    )["backfill"]
    backfill_id = started["backfillId"]
    assert uuid.UUID(backfill_id)
    assert started["repositoryFilters"] == [{"filter": prefix, "filterType": "PREFIX_MATCH"}]

    def done() -> dict[str, Any] | None:
        got = virginia.describe_replication_backfill_results(backfillId=backfill_id, maxResults=3)
        return got if got["backfill"]["status"] == "COMPLETE" else None

    first = wait_for("the backfill", done)
    assert first["backfill"]["replicationsQueued"] == 4
    assert first["backfill"]["replicationsCompleted"] == 4
    assert "finishedAt" in first["backfill"]
    rest = virginia.describe_replication_backfill_results(
        backfillId=backfill_id, nextToken=first["nextToken"]
    )
    results = first["results"] + rest["results"]
    assert "nextToken" not in rest
    assert sorted((r["repositoryName"], r["imageDigest"]) for r in results) == sorted(
        (n, i.digest) for n in names for i in images[n]
    )
    assert {r["status"] for r in results} == {"COMPLETE"}
    with v2(server, ireland, IRELAND) as client:
        for repo in names:
            for number, image in enumerate(images[repo]):
                assert manifest_digest(client, repo, f"v{number}") == image.digest
    assert (
        settled(virginia, names[1], images[names[1]][1].digest)[(ACCOUNT_A, IRELAND)]["status"]
        == "COMPLETE"
    )

    listed = virginia.list_replication_backfills()["backfills"]
    assert listed[0]["backfillId"] == backfill_id  # newest first
    # Stopping a finished backfill changes nothing.
    stopped = virginia.stop_replication_backfill(backfillId=backfill_id)["backfill"]
    assert stopped["status"] == "COMPLETE"


def test_backfill_errors_are_ecr_shaped(server: DockyardProcess, virginia: Any) -> None:
    unknown = str(uuid.uuid4())
    err = expect_error(
        "ReplicationBackfillNotFoundException",
        virginia.describe_replication_backfill_results,
        backfillId=unknown,
    )
    assert unknown in err.response["Error"]["Message"]
    expect_error(
        "ReplicationBackfillNotFoundException",
        virginia.stop_replication_backfill,
        backfillId=unknown,
    )
    expect_error(
        "RepositoryNotFoundException",
        virginia.start_replication_backfill,
        repositoryName=f"missing/{uuid.uuid4().hex[:8]}",
    )
    # The model's own checks apply to the extensions as to ECR's operations.
    raw = extended_client(server.url, VIRGINIA, validate=False)
    expect_error("InvalidParameterException", raw.stop_replication_backfill, backfillId="nope")
    expect_error("InvalidParameterException", raw.list_replication_backfills, maxResults=0)
