"""Registry-wide work as one bounded job per repository: the server's periodic lifecycle
sweep, a sweep run twice while its jobs are pending, and continuous rescans."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.app import open_registry
from dockyard.config import load_settings
from dockyard.domain.scanning import RegistryScanning, ScanFrequency, ScanningRule, ScanType
from dockyard.metadata.jobs import DONE, JobRecord
from dockyard.services import Registry
from dockyard.services.job_payloads import (
    LifecyclePayload,
    LifecycleSweepPayload,
    RescanPayload,
    RescanSweepPayload,
    ScanPayload,
    from_dict,
)
from tests.support.ecr import ACCOUNT, REGION, login_client, make_client, push_v2
from tests.support.lifecycle import (
    image_digests,
    policy_text,
    rule,
    small_image,
    start_dockyard,
    stop_dockyard,
    wait_for,
)
from tests.support.postgres import new_database
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(120)

# Each repository keeps its own number of images; "sweep/none" has no policy.
KEEP = {"sweep/one": 1, "sweep/two": 2, "sweep/three": 3}
PUSHED = 4


def keep_newest(count: int) -> str:
    selection = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count}
    return policy_text(rule(1, selection, description=f"keep the {count} newest images"))


def job_key(repository: str) -> str:
    return f"{ACCOUNT}/{REGION}/{repository}"


@pytest.fixture(scope="module")
def swept(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, database_engine: str
) -> Iterator[DockyardProcess]:
    """A server that applied the policies by itself (a sweep every 2 s), then stopped; on
    each metadata engine."""
    server = start_dockyard(
        tmp_path_factory.mktemp("sweep-data"),
        tmp_path_factory.mktemp("sweep-log"),
        {"DOCKYARD_LIFECYCLE_INTERVAL": "2s", "DOCKYARD_GC_INTERVAL": "0"},
        database_url=new_database(request, database_engine).url,
    )
    try:
        ecr = make_client(server.url)
        with login_client(ecr, server.url) as v2:
            for repository in [*KEEP, "sweep/none"]:
                ecr.create_repository(repositoryName=repository)
                for n in range(PUSHED):
                    push_v2(v2, repository, small_image(f"{repository}/{n}"), f"v{n}")
        for repository, count in KEEP.items():
            ecr.put_lifecycle_policy(
                repositoryName=repository, lifecyclePolicyText=keep_newest(count)
            )

        def applied() -> dict[str, int] | None:
            counts = {r: len(image_digests(ecr, r)) for r in [*KEEP, "sweep/none"]}
            return counts if all(counts[r] == n for r, n in KEEP.items()) else None

        counts = wait_for("the periodic lifecycle sweep", applied, timeout=30, interval=0.5)
        assert counts["sweep/none"] == PUSHED
    except BaseException:
        if server.running:
            server.kill()
        raise
    stop_dockyard(server)
    yield server


@pytest.fixture
def registry(swept: DockyardProcess) -> Iterator[Registry]:
    """The stopped server's registry, in this process: the service objects on its files."""
    settings = load_settings(
        {"data_dir": swept.data_dir, "database_url": swept.database_url}, environ={}
    )
    opened = open_registry(settings)
    yield opened
    opened.close()


def jobs_of(registry: Registry, kind: str) -> list[JobRecord]:
    found = asyncio.run(registry.jobs.recent(10_000))
    return sorted((j for j in found if j.kind == kind), key=lambda j: j.id)


def test_the_periodic_sweep_runs_one_lifecycle_job_per_repository(registry: Registry) -> None:
    sweeps = jobs_of(registry, LifecycleSweepPayload.KIND)
    assert sweeps and all(s.state == DONE for s in sweeps)
    assert {s.result["repositories"] for s in sweeps if s.result} == {len(KEEP)}

    runs = jobs_of(registry, LifecyclePayload.KIND)
    assert runs and all(r.state == DONE and r.attempts == 1 for r in runs)
    by_repository: dict[str, list[JobRecord]] = {}
    for run in runs:
        payload = from_dict(LifecyclePayload, run.payload)
        assert (payload.account_id, payload.region, payload.dry_run) == (ACCOUNT, REGION, False)
        assert run.key == job_key(payload.repository.value)
        by_repository.setdefault(payload.repository.value, []).append(run)
    # Only repositories with a policy, each with its own job; each applied its own policy
    # once (the first run expired what was over its count, later runs found nothing).
    assert sorted(by_repository) == sorted(KEEP)
    for repository, count in KEEP.items():
        expired = [len(r.result["applied"]) for r in by_repository[repository] if r.result]
        assert expired[0] == PUSHED - count and not any(expired[1:]), (repository, expired)


def test_a_sweep_while_its_jobs_are_pending_queues_nothing_more(registry: Registry) -> None:
    before = {j.id for j in jobs_of(registry, LifecyclePayload.KIND)}

    async def sweep_twice() -> None:
        # The second sweep runs while the first one's jobs are still queued.
        await registry.jobs.enqueue(LifecycleSweepPayload())
        await registry.jobs.enqueue(LifecycleSweepPayload())
        while await registry.jobs.run_due():
            pass

    asyncio.run(sweep_twice())
    new = [j for j in jobs_of(registry, LifecyclePayload.KIND) if j.id not in before]
    assert sorted(j.key or "" for j in new) == sorted(job_key(r) for r in KEEP)
    assert all(j.state == DONE for j in new)
    sweeps = jobs_of(registry, LifecycleSweepPayload.KIND)[-2:]
    assert [s.result for s in sweeps] == [{"repositories": 3}, {"repositories": 3}]


def test_continuous_rescans_are_one_job_per_continuous_repository(registry: Registry) -> None:
    continuous = RegistryScanning(
        ScanType.ENHANCED, (ScanningRule(ScanFrequency.CONTINUOUS_SCAN, ("sweep/t*",)),)
    )
    scope = registry.scope_of(None)
    scans_before = {j.id for j in jobs_of(registry, ScanPayload.KIND)}

    async def rescan() -> None:
        await registry.scanning.put_configuration(scope, continuous)
        await registry.jobs.enqueue(RescanSweepPayload())
        while await registry.jobs.run_due():
            pass

    asyncio.run(rescan())
    (sweep,) = jobs_of(registry, RescanSweepPayload.KIND)
    assert (sweep.state, sweep.result) == (DONE, {"repositories": 2})
    rescans = jobs_of(registry, RescanPayload.KIND)
    results: dict[str, Any] = {}
    for job in rescans:
        results[from_dict(RescanPayload, job.payload).repository.value] = job.result
        assert job.state == DONE and job.key is not None
    # sweep/two and sweep/three (filter sweep/t*), one job each, scanning what they hold.
    assert results == {"sweep/two": {"queued": 2}, "sweep/three": {"queued": 3}}
    scans = [j for j in jobs_of(registry, ScanPayload.KIND) if j.id not in scans_before]
    scanned = {from_dict(ScanPayload, j.payload).repository.value for j in scans}
    assert len(scans) == 5 and scanned == {"sweep/two", "sweep/three"}
    assert all(j.state == DONE for j in scans)
