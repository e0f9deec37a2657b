"""Background work: what each job kind does, and which run periodically.

Replication (``replicate-image``, ``replication-backfill``, ``replication-delete``) is
``services.replication``'s (and ``backfills``', ``propagation``'s).

Registry-wide work is a sweep: a short job that queues one job per repository,
keyed by the repository so a repository never has two of a kind pending, and
each runs, fails and is retried on its own. GC is the exception: its mark and
sweep is one registry-wide pass, run as one job that its lease keeps to one node.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dockyard.config import Settings
from dockyard.domain.scanning import ScanFrequency
from dockyard.services import Registry
from dockyard.services.job_payloads import (
    ActivatePayload,
    BackfillPayload,
    GcPayload,
    LifecyclePayload,
    LifecycleSweepPayload,
    PropagateDeletePayload,
    ReplicatePayload,
    RescanPayload,
    RescanSweepPayload,
    ScanPayload,
)
from dockyard.services.jobs import Periodic


def register_jobs(registry: Registry, settings: Settings) -> None:
    jobs = registry.jobs

    async def collect_garbage(payload: GcPayload) -> dict[str, Any]:
        grace = payload.grace_seconds
        expiry = payload.upload_expiry_seconds
        report = await registry.gc.run(
            settings.gc_grace_period if grace is None else timedelta(seconds=grace),
            settings.upload_expiry if expiry is None else timedelta(seconds=expiry),
            payload.dry_run,
        )
        return asdict(report)

    async def sweep_lifecycle(payload: LifecycleSweepPayload) -> dict[str, Any]:
        keys = await registry.lifecycle.repositories()
        for key in keys:
            each = LifecyclePayload.of(key)
            await jobs.enqueue(each, key=each.job_key)
        return {"repositories": len(keys)}

    async def apply_lifecycle(payload: LifecyclePayload) -> dict[str, Any]:
        applied = await registry.lifecycle.run(payload.key, payload.dry_run)
        return {"applied": [{**asdict(a), "tags": list(a.tags)} for a in applied]}

    async def activate_image(payload: ActivatePayload) -> dict[str, Any]:
        await registry.lifecycle.finish_activation(payload.key, payload.digest)
        return {}

    async def scan_image(payload: ScanPayload) -> dict[str, Any]:
        record = await registry.scanning.run(payload.key, payload.digest)
        return {"status": record.status, "counts": record.counts}

    async def sweep_rescans(payload: RescanSweepPayload) -> dict[str, Any]:
        queued = 0
        for key in await registry.all_repository_keys():
            if await registry.scanning.frequency(key) is ScanFrequency.CONTINUOUS_SCAN:
                each = RescanPayload.of(key)
                await jobs.enqueue(each, key=each.job_key)
                queued += 1
        return {"repositories": queued}

    async def rescan_repository(payload: RescanPayload) -> dict[str, Any]:
        return {"queued": await registry.scanning.rescan(payload.key)}

    region = registry.settings.region  # of payloads queued before payloads named one
    jobs.register(GcPayload, collect_garbage)
    jobs.register(LifecycleSweepPayload, sweep_lifecycle)
    jobs.register(LifecyclePayload, apply_lifecycle, default_region=region)
    jobs.register(ActivatePayload, activate_image, default_region=region)
    jobs.register(ScanPayload, scan_image, default_region=region)
    jobs.register(RescanSweepPayload, sweep_rescans)
    jobs.register(RescanPayload, rescan_repository, default_region=region)
    jobs.register(ReplicatePayload, registry.replication.run)
    jobs.register(BackfillPayload, registry.backfills.walk)
    jobs.register(PropagateDeletePayload, registry.propagation.run)


def periodic_jobs(settings: Settings) -> list[Periodic]:
    schedule = []
    if settings.gc_interval > timedelta(0):
        schedule.append(Periodic(GcPayload(), settings.gc_interval))
    if settings.lifecycle_interval > timedelta(0):
        schedule.append(Periodic(LifecycleSweepPayload(), settings.lifecycle_interval))
    return schedule
