"""Upgrading a jobs table written by an older version (migration 0007): its rows carry on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, DateTime, Integer, String, column, insert, table, text

import dockyard.metadata.migrate as migrate
from dockyard.metadata import open_metadata
from dockyard.metadata.database import create_database_engine
from dockyard.metadata.jobs import DONE, FAILED, QUEUED, RUNNING

# The jobs table as version 0006 had it (no run times), written as that version wrote it.
JOBS_0006 = table(
    "jobs",
    column("id", Integer),
    column("kind", String),
    column("key", String),
    column("payload", JSON),
    column("state", String),
    column("run_after", DateTime(timezone=True)),
    column("attempts", Integer),
    column("created_at", DateTime(timezone=True)),
    column("started_at", DateTime(timezone=True)),
    column("finished_at", DateTime(timezone=True)),
)


def schema_of_version_0006(database_url: str | None, tmp_path: Path) -> Any:
    engine = create_database_engine(database_url or f"sqlite:///{tmp_path / 'metadata.db'}")
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    return engine


def test_old_rows_are_renamed_deduplicated_and_timed(
    database_url: str | None, tmp_path: Path
) -> None:
    engine = schema_of_version_0006(database_url, tmp_path)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    old = [
        # id, kind, key, state, started, finished
        (1, "lifecycle", "periodic", DONE, t0, t0 + timedelta(seconds=90)),
        (2, "lifecycle", "periodic", QUEUED, None, None),
        (3, "gc", "periodic", QUEUED, None, None),
        (4, "gc", "periodic", RUNNING, t0, None),  # a duplicate an older version let in
        (5, "scan-image", None, QUEUED, None, None),
        (6, "scan-image", None, QUEUED, None, None),
        (7, "gc", "periodic", FAILED, t0, t0 + timedelta(seconds=2.5)),
    ]
    with engine.begin() as conn:
        for job_id, kind, key, state, started, ended in old:
            conn.execute(
                insert(JOBS_0006).values(
                    id=job_id,
                    kind=kind,
                    key=key,
                    payload={},
                    state=state,
                    run_after=t0,
                    attempts=0,
                    created_at=t0,
                    started_at=started,
                    finished_at=ended,
                )
            )
    engine.dispose()

    upgraded = open_metadata(database_url, tmp_path)  # runs 0007 and any later migration
    try:
        with upgraded.engine.connect() as conn:
            found = conn.execute(
                text("SELECT id, kind, state, duration_seconds, error FROM jobs ORDER BY id")
            ).all()
    finally:
        upgraded.close()
    by_id = {row.id: row for row in found}
    # The periodic whole-registry lifecycle run is the lifecycle sweep now, history too.
    assert [by_id[i].kind for i in (1, 2)] == ["lifecycle-sweep", "lifecycle-sweep"]
    # Of two pending jobs of one kind and key, the first stays; the other is failed.
    assert (by_id[3].state, by_id[4].state) == (QUEUED, FAILED)
    assert by_id[4].error.startswith("superseded")
    assert (by_id[5].state, by_id[6].state) == (QUEUED, QUEUED)  # no key: no rule
    # Finished runs get their run time from their own timestamps.
    assert abs(by_id[1].duration_seconds - 90) < 0.01
    assert abs(by_id[7].duration_seconds - 2.5) < 0.01
    assert by_id[2].duration_seconds is None
