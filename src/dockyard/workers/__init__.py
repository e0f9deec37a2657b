"""Background work: what each job kind does, and which run periodically."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dockyard.config import Settings
from dockyard.domain.digests import Digest
from dockyard.services import Registry
from dockyard.services.jobs import Periodic, PermanentJobError
from dockyard.services.lifecycle import ACTIVATE
from dockyard.services.scanning import RESCAN, SCAN

GC = "gc"
LIFECYCLE = "lifecycle"


def _field(payload: dict[str, Any], name: str) -> Any:
    """A payload member the job cannot do without: missing, no retry will find it."""
    try:
        return payload[name]
    except KeyError:
        raise PermanentJobError(f"payload has no {name!r}") from None


def register_jobs(registry: Registry, settings: Settings) -> None:
    async def collect_garbage(payload: dict[str, Any]) -> dict[str, Any]:
        grace = payload.get("grace_seconds", settings.gc_grace_period.total_seconds())
        expiry = payload.get("upload_expiry_seconds", settings.upload_expiry.total_seconds())
        report = await registry.gc.run(
            timedelta(seconds=grace), timedelta(seconds=expiry), bool(payload.get("dry_run"))
        )
        return asdict(report)

    async def apply_lifecycle(payload: dict[str, Any]) -> dict[str, Any]:
        if "repository" in payload:
            key = registry.key(payload["repository"], payload.get("account_id"))
            applied = await registry.lifecycle.run(key, bool(payload.get("dry_run")))
            return {"applied": [{**asdict(a), "tags": list(a.tags)} for a in applied]}
        return await registry.lifecycle.run_all()

    async def activate_image(payload: dict[str, Any]) -> dict[str, Any]:
        key = registry.key(_field(payload, "repository"), _field(payload, "account_id"))
        await registry.lifecycle.finish_activation(key, Digest.parse(_field(payload, "digest")))
        return {}

    async def scan_image(payload: dict[str, Any]) -> dict[str, Any]:
        key = registry.key(_field(payload, "repository"), _field(payload, "account_id"))
        record = await registry.scanning.run(key, Digest.parse(_field(payload, "digest")))
        return {"status": record.status, "counts": record.counts}

    async def rescan_continuous(payload: dict[str, Any]) -> dict[str, Any]:
        keys = await registry.all_repository_keys()
        return {"queued": await registry.scanning.rescan_continuous(keys)}

    registry.jobs.register(SCAN, scan_image)
    registry.jobs.register(RESCAN, rescan_continuous)
    registry.jobs.register(GC, collect_garbage)
    registry.jobs.register(LIFECYCLE, apply_lifecycle)
    registry.jobs.register(ACTIVATE, activate_image)


def periodic_jobs(settings: Settings) -> list[Periodic]:
    schedule = []
    if settings.gc_interval > timedelta(0):
        schedule.append(Periodic(GC, settings.gc_interval))
    if settings.lifecycle_interval > timedelta(0):
        schedule.append(Periodic(LIFECYCLE, settings.lifecycle_interval))
    return schedule
