"""What queries answer must not depend on the engine: order, case, stored values."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.names import RepositoryName, Tag
from dockyard.domain.records import NewManifest, RepositoryConfig, RepositoryKey, Scope
from dockyard.metadata import Metadata, open_metadata
from dockyard.metadata.iam import IamStore
from tests.support.postgres import Database

SCOPE = Scope("000000000000", "us-east-1")


@pytest.fixture
def metadata(tmp_path: Path, database: Database) -> Iterator[Metadata]:
    opened = open_metadata(database.url, tmp_path)
    yield opened
    opened.close()


def key(name: str) -> RepositoryKey:
    return RepositoryKey(SCOPE, RepositoryName(name))


def digest_of(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def manifest(blob: Digest, label: str) -> NewManifest:
    payload = f'{{"schemaVersion":2,"label":"{label}","layers":["{blob}"]}}'.encode()
    return NewManifest(
        digest=digest_of(payload),
        media_type="application/vnd.oci.image.manifest.v1+json",
        payload=payload,
        artifact_type=None,
        subject=None,
        annotations={},
        blobs=(blob,),
        children=(),
        config_media_type="application/vnd.oci.image.config.v1+json",
        layers_size=5,
    )


def test_listings_sort_bytewise(metadata: Metadata) -> None:
    """Tags and repositories list in byte order on every engine (what OCI's tag list and
    SQLite give), whatever the PostgreSQL database's collation says."""
    repo = key("order/app")
    metadata.repositories.create(repo, RepositoryConfig(), {})
    blob = digest_of(b"layer")
    metadata.content.link_blob(repo, blob, 5)
    names = ["B", "_x", "a", "a-b", "a.b", "a_b", "v1.10", "v1-2", "Z9", "z"]
    metadata.content.put_manifest(repo, manifest(blob, "o"), [Tag(n) for n in names], False)
    listed = metadata.content.list_tags(repo, None, None).items
    assert listed == sorted(names)
    first = metadata.content.list_tags(repo, None, 4)
    rest = metadata.content.list_tags(repo, first.items[-1], None)
    assert [*first.items, *rest.items] == sorted(names)
    repos = ["order/a-b", "order/a.b", "order/a_b", "order/a/b", "order/ab"]
    for name in repos:
        metadata.repositories.create(key(name), RepositoryConfig(), {})
    listed_repos = metadata.repositories.names(SCOPE, "order/", None).items
    assert [n for n in listed_repos if n in repos] == sorted(repos)


def test_path_prefixes_match_case_and_all(metadata: Metadata) -> None:
    """IAM's PathPrefix is case-sensitive (SQLite's LIKE would not be)."""
    iam = IamStore(metadata.engine)
    metadata.identity.ensure_account(SCOPE.account_id)
    metadata.identity.create_user(SCOPE.account_id, "lower", "/dev/team/", "AIDALOWER000000000001")
    metadata.identity.create_user(SCOPE.account_id, "upper", "/Dev/team/", "AIDAUPPER000000000001")
    metadata.identity.create_user(SCOPE.account_id, "wild", "/dev_x/", "AIDAWILD0000000000001")
    assert [u.name for u in iam.users(SCOPE.account_id, "/dev/")] == ["lower"]
    assert [u.name for u in iam.users(SCOPE.account_id, "/Dev/")] == ["upper"]
    assert [u.name for u in iam.users(SCOPE.account_id, "/dev_")] == ["wild"]  # no wildcard
    assert [u.name for u in iam.users(SCOPE.account_id)] == ["lower", "upper", "wild"]


def test_sizes_past_two_gibibytes_are_kept(metadata: Metadata) -> None:
    repo = key("sizes/big")
    metadata.repositories.create(repo, RepositoryConfig(), {})
    blob, size = digest_of(b"a very large layer"), 7 * 1024**3 + 5
    metadata.content.link_blob(repo, blob, size)
    assert metadata.content.blob_size(repo, blob) == size
    assert metadata.garbage.repository_bytes(repo) == size


def test_a_blob_held_anywhere_is_adopted_with_its_size(metadata: Metadata) -> None:
    held, cached = (
        key("adopt/held"),
        RepositoryKey(Scope("111111111111", "eu-west-1"), RepositoryName("adopt/cached")),
    )
    metadata.repositories.create(held, RepositoryConfig(), {})
    metadata.repositories.create(cached, RepositoryConfig(), {})
    blob = digest_of(b"a base layer")
    assert metadata.content.adopt_blob(cached, blob) is False  # nobody holds it yet
    metadata.content.link_blob(held, blob, 3 * 1024**3)
    assert metadata.content.adopt_blob(cached, blob) is True  # another registry's repository
    assert metadata.content.blob_size(cached, blob) == 3 * 1024**3
    assert metadata.garbage.repository_bytes(cached) == 3 * 1024**3


def test_stored_moments_come_back_in_utc(metadata: Metadata) -> None:
    repo = key("moments/app")
    made = metadata.repositories.create(repo, RepositoryConfig(), {})
    assert made.created_at.utcoffset() is not None and made.created_at.utcoffset().seconds == 0
