"""A server SIGKILLed in the middle of a replication: restarted on the same data, the job's
lease runs out, the new process takes the job over and finishes it, and the image is at
the destination exactly once (one manifest row per image, one tag)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA, serve
from tests.replication.helpers import manifest_digest, rule, settled, v2
from tests.support.ecr import extended_client
from tests.support.images import make_multiarch_index, push_image
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(180)

# Enough children that copying them takes a while: the kill lands inside the job.
PLATFORMS = [("linux", f"arch{n}") for n in range(60)]


@pytest.fixture
def killable(tmp_path: Path) -> Iterator[DockyardProcess]:
    proc = serve(tmp_path / "data", tmp_path / "log")
    proc.start_ready()
    yield proc
    if proc.running:
        proc.kill()


def _rows(engine: sa.Engine, query: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(query), params).all())


def test_a_replication_survives_a_sigkill(killable: DockyardProcess) -> None:
    virginia = extended_client(killable.url, VIRGINIA)
    name = "crash/app"
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule("crash", (ACCOUNT_A, IRELAND))]}
    )
    virginia.create_repository(repositoryName=name)
    index = make_multiarch_index("crash", PLATFORMS, layers=3)
    engine = sa.create_engine(
        f"sqlite:///{killable.data_dir / 'metadata.db'}", connect_args={"timeout": 30}
    )
    # Children first, each its own push (and its own small replication); then the index,
    # whose job copies all sixty children and the tag.
    with v2(killable, virginia, VIRGINIA) as client:
        push_image(client, name, index, "v1")
    # The index's run has begun (its status counts one run) and has not ended: kill now.
    deadline = time.monotonic() + 60
    started: list[Any] = []
    while time.monotonic() < deadline and not started:
        started = _rows(
            engine,
            "SELECT status FROM replication_statuses WHERE digest = :digest AND attempts = 1",
            digest=index.digest,
        )
    assert started, "the index's replication never started"
    assert killable.kill() == -9
    (status,) = _rows(
        engine,
        "SELECT status FROM replication_statuses WHERE digest = :digest",
        digest=index.digest,
    )
    assert status.status == "IN_PROGRESS", "the job ended before the kill"
    ((job_id, attempts),) = _rows(
        engine,
        "SELECT id, attempts FROM jobs WHERE kind = 'replicate-image' AND state = 'running'",
    )
    assert attempts == 1

    killable.start_ready()
    found = settled(virginia, name, index.digest)
    assert found[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
    ((state, attempts),) = _rows(
        engine, "SELECT state, attempts FROM jobs WHERE id = :id", id=job_id
    )
    assert (state, attempts) == ("done", 2)  # taken over after its lease ran out

    ireland = extended_client(killable.url, IRELAND)
    with v2(killable, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "v1") == index.digest
        assert client.get(f"/v2/{name}/tags/list").json()["tags"] == ["v1"]
    expected = sorted([index.digest, *(i.digest for i in index.images)])
    stored = _rows(
        engine,
        "SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id"
        " WHERE r.region = :region AND r.name = :name ORDER BY m.digest",
        region=IRELAND,
        name=name,
    )
    assert [row.digest for row in stored] == expected
    engine.dispose()
