"""Replication's metadata on SQLite and on PostgreSQL: configurations per registry,
statuses per image and destination (runs counted, outcomes recorded, rows going with
their repository), and backfills with their items."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.domain.errors import BackfillNotFound, NameUnknown
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryConfig, RepositoryKey, Scope
from dockyard.domain.replication import (
    BackfillStatus,
    Destination,
    ReplicationConfiguration,
    ReplicationRule,
    ReplicationStatus,
    RepositoryFilter,
)
from dockyard.metadata import Metadata, open_metadata
from tests.support.postgres import Database

SCOPE = Scope("000000000000", "us-east-1")
IRELAND = Destination.registry("000000000000", "eu-west-1")
OTHER = Destination.registry("111122223333", "us-east-1")
KEY = RepositoryKey(SCOPE, RepositoryName.parse("team/app"))
DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def metadata(tmp_path: Path, database: Database) -> Iterator[Metadata]:
    opened = open_metadata(database.url, tmp_path)
    opened.repositories.create(KEY, RepositoryConfig(), {})
    yield opened
    opened.close()


def _at(seconds: int) -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=seconds)


def test_a_configuration_comes_back_as_stored(metadata: Metadata) -> None:
    store = metadata.replication
    assert store.configuration(SCOPE) == ReplicationConfiguration()
    config = ReplicationConfiguration(
        (
            ReplicationRule((IRELAND, OTHER), (RepositoryFilter("team"), RepositoryFilter("b"))),
            ReplicationRule((OTHER,)),
        )
    )
    store.put_configuration(SCOPE, config, _at(0))
    assert store.configuration(SCOPE) == config
    assert store.configuration(Scope("000000000000", "eu-west-1")) == ReplicationConfiguration()
    store.put_configuration(SCOPE, ReplicationConfiguration(), _at(1))
    assert store.configuration(SCOPE) == ReplicationConfiguration()


def test_a_status_counts_runs_and_keeps_the_outcome(metadata: Metadata) -> None:
    store = metadata.replication
    store.queued(KEY, DIGEST, [IRELAND, OTHER], _at(0))
    assert store.started(KEY, DIGEST, IRELAND, _at(1)) == 1
    store.ended(KEY, DIGEST, IRELAND, ReplicationStatus.IN_PROGRESS, None, "Timeout: slow", _at(2))
    assert store.started(KEY, DIGEST, IRELAND, _at(3)) == 2
    store.ended(KEY, DIGEST, IRELAND, ReplicationStatus.COMPLETE, None, None, _at(4))
    store.started(KEY, DIGEST, OTHER, _at(5))
    store.ended(
        KEY,
        DIGEST,
        OTHER,
        ReplicationStatus.FAILED,
        "DESTINATION_REGISTRY_ACCESS_DENIED",
        "no",
        _at(6),
    )
    found = {s.destination: s for s in store.statuses(KEY, DIGEST)}
    assert found[IRELAND].status is ReplicationStatus.COMPLETE
    assert (found[IRELAND].attempts, found[IRELAND].last_error) == (2, None)
    assert (found[IRELAND].created_at, found[IRELAND].updated_at) == (_at(0), _at(4))
    assert found[OTHER].status is ReplicationStatus.FAILED
    assert found[OTHER].failure_code == "DESTINATION_REGISTRY_ACCESS_DENIED"
    assert found[OTHER].last_error == "no"
    # Queued again (a new push): in progress, runs counted afresh, the old failure gone.
    store.queued(KEY, DIGEST, [OTHER], _at(7))
    again = {s.destination: s for s in store.statuses(KEY, DIGEST)}[OTHER]
    assert (again.status, again.failure_code, again.attempts) == (
        ReplicationStatus.IN_PROGRESS,
        None,
        0,
    )
    # The statuses go with their repository: one of the same name starts with none.
    metadata.repositories.delete(KEY, force=True)
    with pytest.raises(NameUnknown):
        store.statuses(KEY, DIGEST)
    metadata.repositories.create(KEY, RepositoryConfig(), {})
    assert store.statuses(KEY, DIGEST) == []


def test_a_backfill_tallies_its_items(metadata: Metadata) -> None:
    store = metadata.backfills
    store.create_backfill("b1", SCOPE, None, [RepositoryFilter("team")], _at(0))
    got = store.backfill(SCOPE, "b1")
    assert (got.status, got.queued, got.filters) == (
        BackfillStatus.IN_PROGRESS,
        0,
        (RepositoryFilter("team"),),
    )
    name = KEY.name
    found = [(name, DIGEST, IRELAND), (name, DIGEST, OTHER)]
    assert store.add_items("b1", found, _at(1)) == 2
    assert store.add_items("b1", found, _at(1)) == 0  # a walk run again adds nothing
    store.walked("b1", _at(2))
    assert store.backfill(SCOPE, "b1").status is BackfillStatus.IN_PROGRESS
    store.item_ended("b1", name, DIGEST, IRELAND, ReplicationStatus.COMPLETE, None, _at(3))
    store.item_ended("b1", name, DIGEST, OTHER, ReplicationStatus.FAILED, "X", _at(4))
    done = store.backfill(SCOPE, "b1")
    assert (done.status, done.queued, done.completed, done.failed) == (
        BackfillStatus.COMPLETE,
        2,
        1,
        1,
    )
    assert done.finished_at == _at(4)
    items = store.items(SCOPE, "b1", 0, 10)
    assert [(i.destination, i.status, i.failure_code) for i in items] == [
        (IRELAND, ReplicationStatus.COMPLETE, None),  # by destination id, bytewise
        (OTHER, ReplicationStatus.FAILED, "X"),
    ]
    assert store.items(SCOPE, "b1", 1, 10) == items[1:]
    with pytest.raises(BackfillNotFound):
        store.backfill(Scope("111122223333", "us-east-1"), "b1")


def test_a_stopped_backfill_stays_stopped_and_lists_newest_first(metadata: Metadata) -> None:
    store = metadata.backfills
    store.create_backfill("old", SCOPE, KEY.name, [], _at(0))
    store.create_backfill("new", SCOPE, None, [], _at(10))
    assert [b.id for b in store.backfills(SCOPE, None, 10)] == ["new", "old"]
    assert [b.id for b in store.backfills(SCOPE, "new", 10)] == ["old"]
    stopped = store.stop(SCOPE, "old", _at(20))
    assert stopped.status is BackfillStatus.STOPPED and store.is_stopped("old")
    store.walked("old", _at(21))
    assert store.backfill(SCOPE, "old").status is BackfillStatus.STOPPED
    assert not store.is_stopped("new")
    with pytest.raises(BackfillNotFound):
        store.stop(SCOPE, "none", _at(30))
