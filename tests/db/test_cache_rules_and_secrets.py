"""Pull-through cache rules and Secrets Manager secrets in the metadata database, on SQLite
and on PostgreSQL: what is stored comes back as it was, keys and quotas hold per registry,
version labels move in one transaction, and a secret's deletion date is honoured."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.domain.cache_rules import CacheRule, Upstream, UpstreamKind
from dockyard.domain.errors import (
    CacheRuleAlreadyExists,
    CacheRuleNotFound,
    LimitExceeded,
    SecretAlreadyExists,
    SecretMarkedForDeletion,
    SecretNotFound,
    SecretRequestInvalid,
)
from dockyard.domain.records import Scope
from dockyard.domain.secrets import parse_secret_id
from dockyard.metadata import Metadata, SealedVersion, open_metadata
from tests.support.postgres import Database

SCOPE = Scope("000000000000", "us-east-1")
OTHER_REGION = Scope("000000000000", "eu-west-1")
ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/hub-AbCdEf"


@pytest.fixture
def metadata(tmp_path: Path, database: Database) -> Iterator[Metadata]:
    opened = open_metadata(database.url, tmp_path)
    yield opened
    opened.close()


def _at(seconds: int) -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=seconds)


def _rule(prefix: str, at: int = 0, **changes: object) -> CacheRule:
    values: dict[str, object] = {
        "prefix": prefix,
        "upstream": Upstream(UpstreamKind.DOCKER_HUB, "registry-1.docker.io"),
        "upstream_prefix": "library",
        "credential_arn": ARN,
        "custom_role_arn": None,
        "created_at": _at(at),
        "updated_at": _at(at),
    }
    values.update(changes)
    return CacheRule(**values)  # type: ignore[arg-type]


def test_a_rule_comes_back_as_stored(metadata: Metadata) -> None:
    store = metadata.cache_rules
    rule = _rule("hub")
    assert store.create(SCOPE, rule, quota=5) == rule
    assert store.get(SCOPE, "hub") == rule
    generic = _rule(
        "ROOT",
        upstream=Upstream(UpstreamKind.GENERIC, "http://10.0.0.7:5000"),
        upstream_prefix=None,
        credential_arn=None,
    )
    store.create(SCOPE, generic, quota=5)
    assert store.get(SCOPE, "ROOT") == generic

    role = "arn:aws:iam::000000000000:role/ptc"
    replaced = store.replace(SCOPE, "hub", None, role, _at(60))
    assert replaced == _rule("hub", credential_arn=None, custom_role_arn=role, updated_at=_at(60))
    assert store.get(SCOPE, "hub") == replaced

    assert store.delete(SCOPE, "hub") == replaced
    with pytest.raises(CacheRuleNotFound):
        store.get(SCOPE, "hub")
    with pytest.raises(CacheRuleNotFound):
        store.delete(SCOPE, "hub")
    with pytest.raises(CacheRuleNotFound):
        store.replace(SCOPE, "hub", None, None, _at(90))


def test_rule_prefixes_are_unique_per_registry_listed_bytewise_and_counted(
    metadata: Metadata,
) -> None:
    store = metadata.cache_rules
    prefixes = ["b", "a_b", "ROOT", "a-b", "a/b", "a.b", "ab"]
    for prefix in prefixes:
        store.create(SCOPE, _rule(prefix), quota=len(prefixes))
    with pytest.raises(CacheRuleAlreadyExists):
        store.create(SCOPE, _rule("a/b"), quota=100)
    with pytest.raises(LimitExceeded):
        store.create(SCOPE, _rule("c"), quota=len(prefixes))
    store.create(OTHER_REGION, _rule("a/b"), quota=1)  # another registry, its own count

    listed = [r.prefix for r in store.list(SCOPE)]
    assert listed == sorted(prefixes, key=lambda p: p.encode())
    first = store.list(SCOPE, limit=3)
    rest = store.list(SCOPE, after=first[-1].prefix)
    assert [r.prefix for r in [*first, *rest]] == listed
    assert [r.prefix for r in store.list(SCOPE, prefixes=["ab", "ROOT", "x"])] == ["ROOT", "ab"]
    assert [r.prefix for r in store.list(OTHER_REGION)] == ["a/b"]


def _never_same(binary: bool, ciphertext: bytes) -> bool:
    return False


def _sealed(version_id: str, text: str) -> SealedVersion:
    # The store never opens values: any bytes stand for a sealed one here.
    return SealedVersion(version_id, False, f"sealed:{text}".encode())


def test_a_secret_and_its_versions(metadata: Metadata) -> None:
    store = metadata.secrets
    made = store.create(
        SCOPE,
        "ecr-pullthroughcache/hub",
        "AbCdEf",
        "Docker Hub",
        None,
        [("team", "infra"), ("a", "")],
        _at(0),
        _sealed("v1", "one"),
    )
    assert made.arn == ARN
    assert made.tags == (("team", "infra"), ("a", ""))
    assert [(v.version_id, v.stages) for v in made.versions] == [("v1", ("AWSCURRENT",))]
    # Found by name, full ARN and partial ARN; not from another registry.
    for text in ("ecr-pullthroughcache/hub", ARN, ARN[:-7]):
        found = store.find(SCOPE, parse_secret_id(text), _at(1))
        assert found is not None and found.arn == ARN
    assert store.find(OTHER_REGION, parse_secret_id(ARN), _at(1)) is None
    assert store.find(SCOPE, parse_secret_id(ARN[:-6] + "zzzzzz"), _at(1)) is None

    with pytest.raises(SecretAlreadyExists):
        store.create(SCOPE, "ecr-pullthroughcache/hub", "xxxxxx", None, None, [], _at(2), None)

    record, v2 = store.put_version(
        SCOPE,
        "ecr-pullthroughcache/hub",
        _sealed("v2", "two"),
        ["AWSCURRENT"],
        _at(10),
        _never_same,
    )
    assert {v.version_id: v.stages for v in record.versions} == {
        "v1": ("AWSPREVIOUS",),
        "v2": ("AWSCURRENT",),
    }
    assert v2.created_at == _at(10) and record.changed_at == _at(10)
    record, _ = store.put_version(
        SCOPE, "ecr-pullthroughcache/hub", _sealed("v3", "three"), ["AWSCURRENT"], _at(20),
        _never_same,
    )  # fmt: skip
    assert {v.version_id: v.stages for v in record.versions} == {
        "v2": ("AWSPREVIOUS",),
        "v3": ("AWSCURRENT",),
    }
    assert store.sealed_value(SCOPE, "ecr-pullthroughcache/hub", "v3") == (False, b"sealed:three")
    with pytest.raises(SecretNotFound):
        store.sealed_value(SCOPE, "ecr-pullthroughcache/hub", "v1")
    # A used version id: the same value is a no-op, another one an error.
    store.put_version(
        SCOPE, "ecr-pullthroughcache/hub", _sealed("v3", "three"), ["AWSCURRENT"], _at(30),
        lambda binary, ciphertext: ciphertext == b"sealed:three",
    )  # fmt: skip
    with pytest.raises(SecretAlreadyExists):
        store.put_version(
            SCOPE, "ecr-pullthroughcache/hub", _sealed("v3", "x"), ["AWSCURRENT"], _at(31),
            _never_same,
        )  # fmt: skip
    found = store.find(SCOPE, parse_secret_id(ARN), _at(32))
    assert found is not None and found.changed_at == _at(20)


def test_a_secret_s_deletion_date(metadata: Metadata) -> None:
    store = metadata.secrets
    name = "ecr-pullthroughcache/old"
    store.create(SCOPE, name, "aaaaaa", None, None, [], _at(0), _sealed("v1", "one"))
    store.create(SCOPE, "other", "bbbbbb", None, None, [], _at(1), None)
    store.schedule_deletion(SCOPE, name, _at(100), _at(10))
    with pytest.raises(SecretMarkedForDeletion):
        store.schedule_deletion(SCOPE, name, _at(200), _at(11))
    with pytest.raises(SecretMarkedForDeletion):
        store.put_version(SCOPE, name, _sealed("v2", "two"), ["AWSCURRENT"], _at(12), _never_same)
    waiting = store.find(SCOPE, parse_secret_id(name), _at(50))
    assert waiting is not None and waiting.deletion_date == _at(100)
    assert [s.name for s in store.list(SCOPE, _at(50), include_deleted=False)] == ["other"]
    assert [s.name for s in store.list(SCOPE, _at(50), include_deleted=True)] == [name, "other"]
    with pytest.raises(SecretRequestInvalid):
        store.create(SCOPE, name, "cccccc", None, None, [], _at(60), None)

    # Past its date it is gone, and its name is free.
    assert store.find(SCOPE, parse_secret_id(name), _at(100)) is None
    assert [s.name for s in store.list(SCOPE, _at(100), include_deleted=True)] == ["other"]
    again = store.create(SCOPE, name, "dddddd", None, None, [], _at(101), None)
    assert again.arn.endswith("-dddddd") and again.versions == ()
    assert store.purge(SCOPE, name) is True
    assert store.purge(SCOPE, name) is False
    assert store.find(SCOPE, parse_secret_id(name), _at(102)) is None


def test_a_secret_s_deletion_cancelled(metadata: Metadata) -> None:
    store = metadata.secrets
    name = "ecr-pullthroughcache/kept"
    store.create(SCOPE, name, "aaaaaa", None, None, [], _at(0), _sealed("v1", "one"))
    store.cancel_deletion(SCOPE, name, _at(5))  # not scheduled: nothing changes
    found = store.find(SCOPE, parse_secret_id(name), _at(5))
    assert found is not None and found.changed_at == _at(0)
    store.schedule_deletion(SCOPE, name, _at(100), _at(10))
    store.cancel_deletion(SCOPE, name, _at(20))
    back = store.find(SCOPE, parse_secret_id(name), _at(150))
    assert back is not None and back.deletion_date is None and back.changed_at == _at(20)
    store.put_version(SCOPE, name, _sealed("v2", "two"), ["AWSCURRENT"], _at(151), _never_same)
    # Once its date has passed there is nothing to take back.
    store.schedule_deletion(SCOPE, name, _at(200), _at(160))
    with pytest.raises(SecretNotFound):
        store.cancel_deletion(SCOPE, name, _at(200))
    with pytest.raises(SecretNotFound):
        store.cancel_deletion(SCOPE, "never-was", _at(200))


def test_a_secret_s_details_labels_and_tags_change_under_its_lock(metadata: Metadata) -> None:
    store = metadata.secrets
    name = "ecr-pullthroughcache/changing"
    store.create(SCOPE, name, "aaaaaa", "old", None, [("team", "a")], _at(0), _sealed("v1", "one"))
    store.put_version(SCOPE, name, _sealed("v2", "two"), ["AWSCURRENT"], _at(1), _never_same)

    store.update_details(SCOPE, name, {"description": "new", "kms_key_id": "alias/k"}, _at(2))
    store.relabel(SCOPE, name, lambda labels: {**labels, "v1": (*labels["v1"], "blue")}, _at(3))
    store.retag(SCOPE, name, lambda tags: (*tags, ("env", "ci")), _at(4))
    found = store.find(SCOPE, parse_secret_id(name), _at(5))
    assert found is not None
    assert (found.description, found.kms_key_id, found.changed_at) == ("new", "alias/k", _at(4))
    assert {v.version_id: v.stages for v in found.versions} == {
        "v1": ("AWSPREVIOUS", "blue"),
        "v2": ("AWSCURRENT",),
    }
    assert found.tags == (("team", "a"), ("env", "ci"))

    # A version the change leaves without a label goes.
    store.relabel(SCOPE, name, lambda labels: {"v2": labels["v2"]}, _at(6))
    found = store.find(SCOPE, parse_secret_id(name), _at(7))
    assert found is not None and [v.version_id for v in found.versions] == ["v2"]
    with pytest.raises(SecretNotFound):
        store.sealed_value(SCOPE, name, "v1")

    # None of them reaches a secret on its way out, or one that is gone.
    store.schedule_deletion(SCOPE, name, _at(100), _at(8))
    for change in (
        lambda: store.update_details(SCOPE, name, {"description": "x"}, _at(9)),
        lambda: store.relabel(SCOPE, name, dict, _at(9)),
        lambda: store.retag(SCOPE, name, tuple, _at(9)),
    ):
        with pytest.raises(SecretMarkedForDeletion):
            change()
    with pytest.raises(SecretNotFound):
        store.retag(SCOPE, "never-was", tuple, _at(9))
    with pytest.raises(ValueError):
        store.update_details(SCOPE, name, {"name": "renamed"}, _at(9))
