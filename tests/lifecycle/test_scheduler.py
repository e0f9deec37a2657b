"""The server applies lifecycle policies on its own (``DOCKYARD_LIFECYCLE_INTERVAL``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ecr import login_client, make_client, push_v2
from tests.support.lifecycle import (
    dockyard,
    image_digests,
    policy_text,
    rule,
    small_image,
    start_dockyard,
    stop_dockyard,
    table_rows,
    wait_for,
)
from tests.support.postgres import Database

pytestmark = pytest.mark.timeout(60)

KEEP_TWO = policy_text(
    rule(
        1,
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
        description="keep the two newest images of the repository",
    )
)


def test_the_server_applies_policies_by_itself(tmp_path: Path, database: Database) -> None:
    server = start_dockyard(
        tmp_path / "data",
        tmp_path / "log",
        {"DOCKYARD_LIFECYCLE_INTERVAL": "2s", "DOCKYARD_GC_INTERVAL": "0"},
        database_url=database.url,
    )
    try:
        ecr = make_client(server.url)
        ecr.create_repository(repositoryName="sched/kept")
        ecr.create_repository(repositoryName="sched/no-policy")
        with login_client(ecr, server.url) as v2:
            pushed = []
            for n in range(5):
                image = small_image(f"sched/{n}")
                push_v2(v2, "sched/kept", image, f"v{n}")
                push_v2(v2, "sched/no-policy", image, f"v{n}")
                pushed.append(image.digest)
        ecr.put_lifecycle_policy(repositoryName="sched/kept", lifecyclePolicyText=KEEP_TWO)
        put_at = datetime.now(UTC)

        def expired() -> set[str] | None:
            found = image_digests(ecr, "sched/kept")
            return found if len(found) <= 2 else None

        remaining = wait_for("the scheduled lifecycle run", expired, timeout=10, interval=0.5)
        assert remaining == set(pushed[-2:])
        assert image_digests(ecr, "sched/no-policy") == set(pushed)
        evaluated = ecr.get_lifecycle_policy(repositoryName="sched/kept")["lastEvaluatedAt"]
        assert put_at - timedelta(seconds=3) <= evaluated <= datetime.now(UTC)

        jobs = table_rows(dockyard(server.data_dir, "jobs", "--limit", "100").stdout)
        assert any(row[1] == "lifecycle" and row[2] == "done" for row in jobs), jobs
        actions = table_rows(dockyard(server.data_dir, "lifecycle", "actions").stdout)
        assert {row[4] for row in actions if row[1].endswith("/sched/kept")} == {
            d[:19] for d in pushed[:3]
        }
    except BaseException:
        if server.running:
            server.kill()
        raise
    else:
        stop_dockyard(server)
