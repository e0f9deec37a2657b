"""Each job kind's payload: written and read back in one place, a bad one failing the job
at once, rows queued by older versions still read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.names import RepositoryName
from dockyard.metadata import Metadata
from dockyard.metadata.jobs import DONE, FAILED
from dockyard.services.job_payloads import (
    ActivatePayload,
    BackfillPayload,
    GcPayload,
    LifecyclePayload,
    LifecycleSweepPayload,
    PermanentJobError,
    ReplicatePayload,
    RescanPayload,
    RescanSweepPayload,
    ScanPayload,
    from_dict,
    to_dict,
)
from dockyard.services.jobs import Jobs

TEXT = "sha256:" + "ab" * 32
DIGEST = Digest.parse(TEXT)
APP = RepositoryName.parse("team/app")
ACCOUNT, REGION = "123456789012", "eu-west-1"

EVERY_KIND: list[Any] = [
    GcPayload(),
    GcPayload(grace_seconds=0.0, upload_expiry_seconds=3600.0, dry_run=True),
    LifecycleSweepPayload(),
    LifecyclePayload(ACCOUNT, REGION, APP, dry_run=True),
    ActivatePayload(ACCOUNT, REGION, APP, DIGEST),
    ScanPayload(ACCOUNT, REGION, APP, DIGEST),
    RescanSweepPayload(),
    RescanPayload(ACCOUNT, REGION, APP),
    ReplicatePayload(ACCOUNT, REGION, APP, DIGEST, "registry", "111122223333", "us-east-1"),
    ReplicatePayload(ACCOUNT, REGION, APP, DIGEST, "registry", ACCOUNT, "us-east-1", "b-1"),
    BackfillPayload(ACCOUNT, REGION, "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
]


@pytest.mark.parametrize("payload", EVERY_KIND, ids=lambda p: type(p).__name__)
def test_every_payload_reads_back_as_written(payload: Any) -> None:
    stored = to_dict(payload)
    assert all(isinstance(v, str | bool | float | None) for v in stored.values()), stored
    assert from_dict(type(payload), stored) == payload


def test_a_scan_payload_is_stored_as_plain_json_naming_account_and_region() -> None:
    assert to_dict(ScanPayload(ACCOUNT, REGION, APP, DIGEST)) == {
        "account_id": ACCOUNT,
        "region": REGION,
        "repository": "team/app",
        "digest": str(DIGEST),
    }


def test_the_kinds_are_the_names_in_the_jobs_table() -> None:
    kinds = [type(p).KIND for p in EVERY_KIND]
    assert sorted(set(kinds)) == [
        "activate-image",
        "gc",
        "lifecycle",
        "lifecycle-sweep",
        "replicate-image",
        "replication-backfill",
        "rescan-continuous",
        "rescan-repository",
        "scan-image",
    ]


GOOD_SCAN = to_dict(ScanPayload(ACCOUNT, REGION, APP, DIGEST))


@pytest.mark.parametrize(
    ("stored", "complaint"),
    [
        ({k: v for k, v in GOOD_SCAN.items() if k != "digest"}, "has no 'digest'"),
        ({k: v for k, v in GOOD_SCAN.items() if k != "account_id"}, "has no 'account_id'"),
        ({**GOOD_SCAN, "digest": 42}, "field 'digest': expected a string, got int"),
        ({**GOOD_SCAN, "digest": "sha256:short"}, "field 'digest'"),
        ({**GOOD_SCAN, "repository": "Team/App"}, "field 'repository'"),
        ({**GOOD_SCAN, "region": None}, "field 'region': expected a string, got NoneType"),
        (["not", "an", "object"], "is not an object"),
    ],
    ids=[
        "missing-digest",
        "missing-account",
        "digest-not-text",
        "bad-digest",
        "bad-name",
        "null-region",
        "not-an-object",
    ],
)
def test_a_payload_that_does_not_read_is_a_permanent_error(stored: Any, complaint: str) -> None:
    with pytest.raises(PermanentJobError, match=complaint):
        from_dict(ScanPayload, stored, default_region=REGION)


@pytest.mark.parametrize(
    ("kind", "stored"),
    [
        (LifecyclePayload, {"account_id": ACCOUNT, "repository": "team/app", "dry_run": "yes"}),
        (GcPayload, {"grace_seconds": "1h"}),
        (GcPayload, {"dry_run": 1}),
        (GcPayload, {"upload_expiry_seconds": True}),
    ],
    ids=["flag-as-text", "seconds-as-text", "flag-as-number", "seconds-as-flag"],
)
def test_values_of_the_wrong_type_are_refused(kind: Any, stored: dict[str, Any]) -> None:
    with pytest.raises(PermanentJobError, match="expected"):
        from_dict(kind, stored, default_region=REGION)


@pytest.mark.parametrize(
    "stored",
    [
        {k: v for k, v in GOOD_SCAN.items() if k != "digest"},
        {**GOOD_SCAN, "digest": [TEXT]},
    ],
    ids=["missing-field", "bad-type"],
)
def test_a_job_whose_payload_does_not_read_fails_at_once(
    metadata: Metadata, stored: dict[str, Any]
) -> None:
    jobs = Jobs(metadata.jobs, retry_base=timedelta(0))
    ran: list[ScanPayload] = []

    async def scan(payload: ScanPayload) -> dict[str, Any]:
        ran.append(payload)
        return {}

    jobs.register(ScanPayload, scan, default_region=REGION)
    now = datetime.now(UTC)
    job_id = metadata.jobs.enqueue("scan-image", None, stored, now, now)

    async def poll() -> None:
        for _ in range(3):
            await jobs.run_due()

    asyncio.run(poll())
    job = metadata.jobs.get(job_id)
    assert job is not None
    assert (job.state, job.attempts, ran) == (FAILED, 1, [])
    assert job.error is not None and job.error.startswith("PermanentJobError: scan-image payload")


def test_rows_queued_before_payloads_named_a_region_run_in_the_default_region(
    metadata: Metadata,
) -> None:
    # As older versions stored them: account and repository, no region.
    jobs = Jobs(metadata.jobs)
    ran: list[Any] = []

    async def record(payload: Any) -> dict[str, Any]:
        ran.append(payload)
        return {}

    jobs.register(LifecyclePayload, record, default_region=REGION)
    jobs.register(ActivatePayload, record, default_region=REGION)
    now = datetime.now(UTC)
    old_rows: list[tuple[str, dict[str, Any]]] = [
        ("lifecycle", {"repository": "team/app", "account_id": ACCOUNT, "dry_run": False}),
        (
            "activate-image",
            {"account_id": ACCOUNT, "repository": "team/app", "digest": str(DIGEST)},
        ),
    ]
    ids = [metadata.jobs.enqueue(kind, None, stored, now, now) for kind, stored in old_rows]
    assert asyncio.run(jobs.run_due()) == 2
    assert [getattr(metadata.jobs.get(i), "state", None) for i in ids] == [DONE, DONE]
    assert ran == [
        LifecyclePayload(ACCOUNT, REGION, APP, dry_run=False),
        ActivatePayload(ACCOUNT, REGION, APP, DIGEST),
    ]
    assert [p.key.scope.region for p in ran] == [REGION, REGION]
