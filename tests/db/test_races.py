"""Writers racing each other in the metadata layer, on SQLite and on PostgreSQL.

Each writer has its own engine (its own connections, as each worker process and node
has), and they all start at one moment. What the database's constraints and transactions
decide must come out as it would had the writers come one after another: one blob row
for many pushes of it, one winner for an immutable tag, one root key for many nodes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.domain.digests import Digest
from dockyard.domain.errors import TagImmutable
from dockyard.domain.identity import Principal, PrincipalKind
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.names import RepositoryName, Tag
from dockyard.domain.records import NewManifest, RepositoryConfig, RepositoryKey, Scope
from dockyard.metadata import Metadata, open_metadata
from tests.support.postgres import Database

WRITERS = 8
SCOPE = Scope("000000000000", "us-east-1")
T = TypeVar("T")


@pytest.fixture
def nodes(tmp_path: Path, database: Database) -> Iterator[list[Metadata]]:
    opened = [open_metadata(database.url, tmp_path) for _ in range(WRITERS)]
    yield opened
    for node in opened:
        node.close()


def at_once(calls: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run the calls in threads released together; each one's result or exception."""
    go = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * len(calls)

    def run(index: int) -> None:
        go.wait()
        try:
            outcomes[index] = calls[index]()
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def digest_of(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def key(name: str) -> RepositoryKey:
    return RepositoryKey(SCOPE, RepositoryName(name))


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


def errors(outcomes: list[Any]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


def test_one_blob_pushed_by_many_at_once(nodes: list[Metadata]) -> None:
    blob = digest_of(b"one blob, many pushers")
    names = [f"race/blob-{n % 3}" for n in range(WRITERS)]  # some share a repository
    for name in set(names):
        nodes[0].repositories.create(key(name), RepositoryConfig(), {})
    outcomes = at_once(
        [
            (lambda node=node, name=name: node.content.link_blob(key(name), blob, 22))
            for node, name in zip(nodes, names, strict=True)
        ]
    )
    assert not errors(outcomes), errors(outcomes)
    for name in set(names):
        assert nodes[0].content.blob_size(key(name), blob) == 22
    assert str(blob) in nodes[0].garbage.known_blobs()


def test_one_winner_for_a_new_immutable_tag(nodes: list[Metadata]) -> None:
    repo = key("race/immutable")
    rule = MutabilityRule(TagMutability.IMMUTABLE)
    nodes[0].repositories.create(repo, RepositoryConfig(mutability=rule), {})
    blob = digest_of(b"layer")
    nodes[0].content.link_blob(repo, blob, 5)
    pushes = [manifest(blob, f"image-{n}") for n in range(WRITERS)]
    outcomes = at_once(
        [
            (lambda node=node, m=m: node.content.put_manifest(repo, m, [Tag("v1")], False))
            for node, m in zip(nodes, pushes, strict=True)
        ]
    )
    refused = [o for o in outcomes if isinstance(o, TagImmutable)]
    assert len(refused) == WRITERS - 1, outcomes
    assert len(errors(outcomes)) == len(refused), errors(outcomes)
    (won,) = [o for o in outcomes if not isinstance(o, BaseException)]
    assert nodes[0].images.digest_of_tag(repo, "v1") == won.digest


def test_the_same_manifest_pushed_by_many_at_once(nodes: list[Metadata]) -> None:
    repo = key("race/same")
    nodes[0].repositories.create(repo, RepositoryConfig(), {})
    blob = digest_of(b"shared layer")
    nodes[0].content.link_blob(repo, blob, 5)
    image = manifest(blob, "same")
    outcomes = at_once(
        [
            (lambda node=node: node.content.put_manifest(repo, image, [Tag("latest")], False))
            for node in nodes
        ]
    )
    assert not errors(outcomes), errors(outcomes)
    assert sum(1 for o in outcomes if o.new_manifest) == 1  # type: ignore[union-attr]
    ids, more = nodes[0].images.list_ids(repo, None, None, 100)
    assert [(d, t) for _, d, t in ids] == [(image.digest, "latest")] and not more


def test_a_mutable_tag_moved_by_many_at_once_ends_on_one_of_them(nodes: list[Metadata]) -> None:
    repo = key("race/mutable")
    nodes[0].repositories.create(repo, RepositoryConfig(), {})
    blob = digest_of(b"layer")
    nodes[0].content.link_blob(repo, blob, 5)
    pushes = [manifest(blob, f"image-{n}") for n in range(WRITERS)]
    outcomes = at_once(
        [
            (lambda node=node, m=m: node.content.put_manifest(repo, m, [Tag("a"), Tag("b")], False))
            for node, m in zip(nodes, pushes, strict=True)
        ]
    )
    assert not errors(outcomes), errors(outcomes)
    # Both tags moved together every time: they name the same image at the end.
    a = nodes[0].images.digest_of_tag(repo, "a")
    assert a in {m.digest for m in pushes}
    assert nodes[0].images.digest_of_tag(repo, "b") == a


def test_nodes_bootstrapping_one_account_give_its_root_one_key(nodes: list[Metadata]) -> None:
    root = Principal("000000000001", "root", PrincipalKind.ROOT)

    def bootstrap(node: Metadata, n: int) -> bool:
        node.identity.ensure_account(root.account_id)
        return node.identity.add_first_key(root, f"AKIARACE{n:012d}", b"sealed")

    outcomes = at_once(
        [(lambda node=node, n=n: bootstrap(node, n)) for n, node in enumerate(nodes)]
    )
    assert not errors(outcomes), errors(outcomes)
    assert outcomes.count(True) == 1
    assert len(nodes[0].identity.keys(root)) == 1
    assert nodes[0].identity.account_ids() == ["000000000001"]


def test_settings_written_by_many_at_once_keep_one_value(nodes: list[Metadata]) -> None:
    outcomes = at_once(
        [
            (lambda node=node, n=n: node.identity.put_setting("000000000000", "r", "s", str(n)))
            for n, node in enumerate(nodes)
        ]
    )
    assert not errors(outcomes), errors(outcomes)
    assert nodes[0].identity.setting("000000000000", "r", "s") in {str(n) for n in range(WRITERS)}


def test_the_same_image_to_an_immutable_tag_when_repushes_are_idempotent(
    nodes: list[Metadata],
) -> None:
    """With ``--idempotent-immutable-repush`` every push of the one image succeeds, also
    those that looked for the manifest just before another push committed it."""
    repo = key("race/idempotent")
    rule = MutabilityRule(TagMutability.IMMUTABLE)
    nodes[0].repositories.create(repo, RepositoryConfig(mutability=rule), {})
    blob = digest_of(b"layer")
    nodes[0].content.link_blob(repo, blob, 5)
    image = manifest(blob, "idempotent")
    for _ in range(3):
        outcomes = at_once(
            [
                (lambda node=node: node.content.put_manifest(repo, image, [Tag("v1")], True))
                for node in nodes
            ]
        )
        assert not errors(outcomes), errors(outcomes)
    assert nodes[0].images.digest_of_tag(repo, "v1") == image.digest
