"""Background work: what each job kind does, and which run periodically."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dockyard.config import Settings
from dockyard.services import Registry
from dockyard.services.jobs import Periodic

GC = "gc"


def register_jobs(registry: Registry, settings: Settings) -> None:
    async def collect_garbage(payload: dict[str, Any]) -> dict[str, Any]:
        grace = payload.get("grace_seconds", settings.gc_grace_period.total_seconds())
        expiry = payload.get("upload_expiry_seconds", settings.upload_expiry.total_seconds())
        report = await registry.gc.run(
            timedelta(seconds=grace), timedelta(seconds=expiry), bool(payload.get("dry_run"))
        )
        return asdict(report)

    registry.jobs.register(GC, collect_garbage)


def periodic_jobs(settings: Settings) -> list[Periodic]:
    schedule = []
    if settings.gc_interval > timedelta(0):
        schedule.append(Periodic(GC, settings.gc_interval))
    return schedule
