"""Repository creation templates in the metadata database, on SQLite and on PostgreSQL:
what is stored comes back as it was, listings sort the same, the quota and the prefix key
hold, and a repository made from a template gets its policies in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.domain.errors import LimitExceeded, TemplateAlreadyExists, TemplateNotFound
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryConfig, RepositoryKey, Scope
from dockyard.domain.templates import AppliedFor, TemplateSettings
from dockyard.metadata import Metadata, open_metadata
from tests.support.postgres import Database

SCOPE = Scope("000000000000", "us-east-1")
OTHER_REGION = Scope("000000000000", "eu-west-1")
LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep the last five images of any kind, nothing older",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 5,
                },
                "action": {"type": "expire"},
            }
        ]
    }
)
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:BatchGetImage"],
            }
        ],
    }
)
FULL = TemplateSettings(
    applied_for=(AppliedFor.CREATE_ON_PUSH, AppliedFor.REPLICATION),
    description="everything a template carries",
    mutability=MutabilityRule(TagMutability.IMMUTABLE_WITH_EXCLUSION, ("latest", "dev-*")),
    encryption_type="KMS",
    kms_key="arn:aws:kms:us-east-1:000000000000:key/0f1e2d3c-aaaa-bbbb-cccc-000000000001",
    resource_tags={"team": "infra", "zeta": "", "alpha": "1"},
    repository_policy=POLICY,
    lifecycle_policy=LIFECYCLE,
    custom_role_arn="arn:aws:iam::000000000000:role/ecr-templates",
)


@pytest.fixture
def metadata(tmp_path: Path, database: Database) -> Iterator[Metadata]:
    opened = open_metadata(database.url, tmp_path)
    yield opened
    opened.close()


def _at(seconds: int) -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=seconds)


def test_a_template_comes_back_as_stored(metadata: Metadata) -> None:
    store = metadata.templates
    created = store.create(SCOPE, "team/app", FULL, _at(0), quota=10)
    assert created.settings == FULL
    got = store.get(SCOPE, "team/app")
    assert got.prefix == "team/app"
    assert got.settings == FULL
    # Tag order survives the JSON column on both engines.
    assert list(got.settings.resource_tags) == ["team", "zeta", "alpha"]
    assert (got.created_at, got.updated_at) == (_at(0), _at(0))

    plain = TemplateSettings(applied_for=(AppliedFor.PULL_THROUGH_CACHE,))
    replaced = store.replace(SCOPE, "team/app", plain, _at(60))
    assert (replaced.created_at, replaced.updated_at) == (_at(0), _at(60))
    again = store.get(SCOPE, "team/app")
    assert again.settings == plain
    assert (again.created_at, again.updated_at) == (_at(0), _at(60))

    deleted = store.delete(SCOPE, "team/app")
    assert deleted.settings == plain
    with pytest.raises(TemplateNotFound):
        store.get(SCOPE, "team/app")
    with pytest.raises(TemplateNotFound):
        store.delete(SCOPE, "team/app")
    with pytest.raises(TemplateNotFound):
        store.replace(SCOPE, "team/app", plain, _at(90))


def test_prefixes_are_unique_per_registry_and_listed_bytewise(metadata: Metadata) -> None:
    store = metadata.templates
    settings = TemplateSettings(applied_for=(AppliedFor.CREATE_ON_PUSH,))
    prefixes = ["b", "a_b", "ROOT", "a-b", "a/b", "a.b", "ab"]
    for prefix in prefixes:
        store.create(SCOPE, prefix, settings, _at(0), quota=100)
    with pytest.raises(TemplateAlreadyExists):
        store.create(SCOPE, "a/b", settings, _at(1), quota=100)
    # The same prefix in another region is another registry's.
    store.create(OTHER_REGION, "a/b", settings, _at(0), quota=100)

    listed = [t.prefix for t in store.list(SCOPE)]
    assert listed == sorted(prefixes, key=lambda p: p.encode())
    first = store.list(SCOPE, limit=3)
    rest = store.list(SCOPE, after=first[-1].prefix)
    assert [t.prefix for t in [*first, *rest]] == listed
    chosen = store.list(SCOPE, prefixes=["ab", "ROOT", "missing"])
    assert [t.prefix for t in chosen] == ["ROOT", "ab"]
    assert [t.prefix for t in store.list(OTHER_REGION)] == ["a/b"]


def test_the_quota_counts_the_registry_s_templates(metadata: Metadata) -> None:
    store = metadata.templates
    settings = TemplateSettings(applied_for=(AppliedFor.REPLICATION,))
    for i in range(3):
        store.create(SCOPE, f"q{i}", settings, _at(i), quota=3)
    with pytest.raises(LimitExceeded):
        store.create(SCOPE, "q3", settings, _at(3), quota=3)
    store.create(OTHER_REGION, "q3", settings, _at(3), quota=3)  # another registry
    store.delete(SCOPE, "q0")
    store.create(SCOPE, "q3", settings, _at(4), quota=3)


def test_a_repository_is_created_with_its_policies(metadata: Metadata) -> None:
    key = RepositoryKey(SCOPE, RepositoryName("team/app/web"))
    config = RepositoryConfig(mutability=FULL.mutability, encryption_type="KMS", kms_key="k")
    repository = metadata.repositories.create(
        key,
        config,
        dict(FULL.resource_tags),
        repository_policy=POLICY,
        lifecycle_policy=LIFECYCLE,
    )
    assert repository.config == config
    assert repository.tags == FULL.resource_tags
    assert metadata.repositories.exists(key)
    assert not metadata.repositories.exists(RepositoryKey(SCOPE, RepositoryName("team/other")))
    stored_policy = metadata.policies.repository_policy(key)
    assert stored_policy is not None and stored_policy.text == POLICY
    stored_lifecycle = metadata.lifecycle.get_policy(key)
    assert stored_lifecycle is not None and stored_lifecycle.text == LIFECYCLE
    assert stored_lifecycle.last_evaluated_at is None
