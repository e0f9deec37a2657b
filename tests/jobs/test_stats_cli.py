"""``dockyard jobs --stats``: per-kind counts and run times from the jobs table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dockyard.metadata import open_metadata
from dockyard.services.jobs import Jobs, PermanentJobError
from tests.support.lifecycle import dockyard, table_rows


def test_jobs_stats_lists_each_kind(tmp_path: Path) -> None:
    metadata = open_metadata(None, tmp_path)
    jobs = Jobs(metadata.jobs)

    async def gc(payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("fail"):
            raise PermanentJobError("no")
        return {}

    jobs.register("gc", gc)

    async def scenario() -> None:
        await jobs.enqueue("gc", {})
        await jobs.enqueue("gc", {"fail": True})
        await jobs.run_due()
        await jobs.enqueue("lifecycle", {}, delay=3600)

    try:
        asyncio.run(scenario())
    finally:
        metadata.close()
    rows = table_rows(dockyard(tmp_path, "jobs", "--stats").stdout)
    by_kind = {row[0]: row[1:] for row in rows}
    assert by_kind["gc"][:4] == ["0", "0", "1", "1"]
    assert by_kind["gc"][4] and by_kind["gc"][5]  # mean and max run time
    assert by_kind["lifecycle"] == ["1", "0", "0", "0", "", ""]
