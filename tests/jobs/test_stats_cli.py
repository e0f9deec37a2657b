"""``dockyard jobs --stats``: per-kind counts and run times from the jobs table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dockyard.metadata import open_metadata
from dockyard.services.jobs import Jobs, PermanentJobError
from tests.jobs.kinds import Chore, Errand
from tests.support.lifecycle import dockyard, table_rows
from tests.support.postgres import Database


def test_jobs_stats_lists_each_kind(tmp_path: Path, database: Database) -> None:
    metadata = open_metadata(database.url, tmp_path)
    jobs = Jobs(metadata.jobs)

    async def chore(payload: Chore) -> dict[str, Any]:
        await asyncio.sleep(payload.seconds)
        if payload.fail:
            raise PermanentJobError("no")
        return {}

    jobs.register(Chore, chore)

    async def scenario() -> None:
        await jobs.enqueue(Chore(seconds=0.2))
        await jobs.enqueue(Chore(fail=True, seconds=0.4))
        await jobs.run_due()
        await jobs.enqueue(Errand(), delay=3600)

    try:
        asyncio.run(scenario())
    finally:
        metadata.close()
    rows = table_rows(dockyard(tmp_path, "jobs", "--stats", database_url=database.url).stdout)
    by_kind = {row[0]: row[1:] for row in rows}
    assert by_kind["chore"][:4] == ["0", "0", "1", "1"]
    mean, longest = float(by_kind["chore"][4]), float(by_kind["chore"][5])
    assert 0.2 <= mean <= longest and 0.4 <= longest < 5  # one run of 0.2 s, one of 0.4 s
    assert by_kind["errand"] == ["1", "0", "0", "0", "", ""]


def test_jobs_lists_each_job_with_its_key(tmp_path: Path, database: Database) -> None:
    metadata = open_metadata(database.url, tmp_path)
    jobs = Jobs(metadata.jobs)

    async def scenario() -> list[int]:
        keyed = await jobs.enqueue(Chore(), key="000000000000/us-east-1/team/app", delay=60)
        again = await jobs.enqueue(Chore(), key="000000000000/us-east-1/team/app", delay=60)
        return [keyed, again, await jobs.enqueue(Errand(), delay=60)]

    try:
        keyed, again, unkeyed = asyncio.run(scenario())
    finally:
        metadata.close()
    assert again == keyed
    rows = table_rows(dockyard(tmp_path, "jobs", database_url=database.url).stdout)
    assert [row[:4] for row in rows] == [
        [str(unkeyed), "errand", "queued", ""],
        [str(keyed), "chore", "queued", "000000000000/us-east-1/team/app"],
    ]
