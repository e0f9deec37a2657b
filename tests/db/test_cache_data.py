"""The pull-through cache's rows on SQLite and on PostgreSQL: a flight has one owner however
many claim it at once (threads with their own connections, as worker processes have), an
expired lease or a failed flight is taken over, a finished one only when asked; tag checks,
fetched manifests and counters come back as written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.metadata import Metadata, open_metadata
from dockyard.metadata.cache_data import DONE, FAILED, RUNNING, CachedManifest
from tests.support.postgres import Database

SCOPE = Scope("000000000000", "us-east-1")
KEY = RepositoryKey(SCOPE, RepositoryName.parse("hub/library/alpine"))
LEASE = timedelta(seconds=30)
DIGEST = Digest("sha256", "a" * 64)
OTHER = Digest("sha256", "b" * 64)


@pytest.fixture
def metadata(tmp_path: Path, database: Database) -> Iterator[Metadata]:
    opened = open_metadata(database.url, tmp_path)
    yield opened
    opened.close()


def test_of_many_claiming_at_once_one_owns_the_flight(metadata: Metadata) -> None:
    owners: list[str] = []
    start = threading.Barrier(12)

    def claim(owner: str) -> None:
        start.wait()
        owners.append(metadata.cache_data.claim("blob:x", owner, LEASE, False).owner)

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(owners) == 12
    assert len(set(owners)) == 1  # everyone sees the one winner
    row = metadata.cache_data.flight("blob:x")
    assert row is not None and row.state == RUNNING and row.owner == owners[0]


def test_progress_landing_and_take_overs(metadata: Metadata) -> None:
    store = metadata.cache_data
    assert store.claim("f", "first", LEASE, False).owner == "first"
    assert store.advance("f", "first", LEASE, 1234, "ptc-up")
    row = store.flight("f")
    assert row is not None and (row.progress, row.upload_id) == (1234, "ptc-up")
    assert not store.advance("f", "intruder", LEASE, 1, None)  # not its flight

    # An expired lease is taken over; the old owner finds out on its next advance.
    store.advance("f", "first", timedelta(seconds=-1), 1234, "ptc-up")
    taken = store.claim("f", "second", LEASE, False)
    assert (taken.owner, taken.progress, taken.upload_id) == ("second", 0, None)
    assert not store.advance("f", "first", LEASE, 9999, "ptc-up")

    store.land("f", "second", None)
    done = store.claim("f", "third", LEASE, False)
    assert (done.owner, done.state) == ("second", DONE)  # finished: not run again...
    assert store.claim("f", "third", LEASE, True).owner == "third"  # ...unless asked
    store.land("f", "third", "UpstreamUnavailable: down")
    failed = store.flight("f")
    assert failed is not None and failed.state == FAILED
    assert failed.error == "UpstreamUnavailable: down"
    assert store.claim("f", "fourth", LEASE, False).owner == "fourth"  # a retry

    store.land("f", "fourth", None)
    assert store.forget_flights(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.flight("f") is None


def test_tag_checks_manifests_and_counters(metadata: Metadata) -> None:
    store = metadata.cache_data
    assert store.tag_check(KEY, "3") is None
    store.checked_tag(KEY, "3", DIGEST)
    first = store.tag_check(KEY, "3")
    assert first is not None and first.digest == DIGEST
    store.checked_tag(KEY, "3", OTHER)
    moved = store.tag_check(KEY, "3")
    assert moved is not None and moved.digest == OTHER and moved.checked_at >= first.checked_at

    manifest = CachedManifest(DIGEST, "application/vnd.oci.image.manifest.v1+json", b"{}")
    store.keep_manifest(KEY, manifest)
    store.keep_manifest(KEY, manifest)  # kept once
    assert store.fetched_manifest(KEY, DIGEST) == manifest
    assert store.fetched_manifests(KEY) == [manifest]
    store.drop_manifest(KEY, DIGEST)
    assert store.fetched_manifest(KEY, DIGEST) is None

    store.count(SCOPE, "hub", hits=2)
    store.count(SCOPE, "hub", misses=1, errors=1, last_error="127.0.0.1:5001: HTTP 503")
    store.count(SCOPE, "hub", hits=1)
    (counted,) = store.counters()
    assert (counted.prefix, counted.hits, counted.misses, counted.upstream_errors) == (
        "hub",
        3,
        1,
        1,
    )
    assert counted.last_error == "127.0.0.1:5001: HTTP 503"
    assert counted.last_error_at is not None
