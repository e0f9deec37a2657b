"""``dockyard db upgrade``, ``db current`` and ``db copy``, on real databases.

The copy test is the move an operator makes: a registry used on its embedded SQLite, its
server stopped, ``dockyard db copy --to postgresql://...``, the server started again on
PostgreSQL over the same data directory, and everything is there and keeps working.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dockyard.metadata import migrate, resolve_url
from dockyard.metadata.database import create_database_engine
from tests.support.auth import new_user_key
from tests.support.ecr import login_client, make_client, push_v2
from tests.support.lifecycle import (
    dockyard,
    image_digests,
    policy_text,
    pull_and_verify,
    rule,
    small_image,
)
from tests.support.postgres import Database, PostgresCluster
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(180)


def test_upgrade_then_current(tmp_path: Path, database: Database) -> None:
    data_dir = tmp_path / "data"
    head = migrate.head()
    before = dockyard(data_dir, "db", "current", database_url=database.url).stdout
    assert before.startswith("none ("), before
    assert dockyard(data_dir, "db", "upgrade", database_url=database.url).stdout.strip() == head
    after = dockyard(data_dir, "db", "current", database_url=database.url).stdout
    assert after.strip() == f"{head} (head)"
    # Upgrading what is at head changes nothing.
    assert dockyard(data_dir, "db", "upgrade", database_url=database.url).stdout.strip() == head


def test_upgrades_at_once_all_succeed(tmp_path: Path, database: Database) -> None:
    """Workers and nodes starting together each upgrade at start: one migrates, the others
    wait for it (an advisory lock on PostgreSQL) and find the schema at head. Each upgrader
    here has its own engine (connections), as a process has, and all start at once."""
    url = resolve_url(database.url, tmp_path)
    engines = [create_database_engine(url) for _ in range(6)]
    go = threading.Barrier(len(engines))
    results: list[str | None] = []
    errors: list[BaseException] = []

    def upgrade(engine: Engine) -> None:
        try:
            go.wait()
            results.append(migrate.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for engine in engines:
            engine.dispose()
    assert not errors, errors
    assert results == [migrate.head()] * len(engines)


def test_copy_from_sqlite_onto_postgresql(tmp_path: Path, postgres: PostgresCluster) -> None:
    data_dir, logs = tmp_path / "data", tmp_path / "logs"
    repo, other = "moved/app", "moved/other"
    images = [small_image(f"moved-{n}") for n in range(3)]

    # A registry used on SQLite: images and tags, a lifecycle policy, an IAM user with a key.
    with DockyardProcess(data_dir, open_access=False, log_dir=logs).serving() as server:
        ecr = make_client(server.url)
        ecr.create_repository(repositoryName=repo, imageTagMutability="IMMUTABLE")
        ecr.create_repository(repositoryName=other)
        policy = policy_text(
            rule(1, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 9})
        )
        ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy)
        with login_client(ecr, server.url) as v2:
            for n, image in enumerate(images):
                push_v2(v2, repo, image, f"v{n}")
            push_v2(v2, other, images[0], "latest")
        user = f"mover-{uuid.uuid4().hex[:6]}"
        user_key = new_user_key(data_dir, user)
        described = _describe(ecr, repo)

    target = postgres.create_database()
    copied = dockyard(data_dir, "db", "copy", "--to", target, "--batch-size", "2").stdout
    assert "copied" in copied and "manifests" in copied, copied
    # A second copy into the same database is refused: nothing is mixed or overwritten.
    again = dockyard(data_dir, "db", "copy", "--to", target, check=False)
    assert again.returncode == 1
    assert "not empty" in again.stderr, again.stderr

    # The same data directory (blobs, keys) served from PostgreSQL.
    moved = DockyardProcess(data_dir, open_access=False, log_dir=logs, database_url=target)
    with moved.serving() as server:
        ecr = make_client(server.url)
        assert _describe(ecr, repo) == described
        assert image_digests(ecr, other) == {images[0].digest}
        assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == policy
        with login_client(ecr, server.url) as v2:
            for n, image in enumerate(images):
                pull_and_verify(v2, repo, f"v{n}", image)
            # Immutability came along; new rows get ids after the copied ones.
            assert v2.put(
                f"/v2/{repo}/manifests/v0",
                content=images[1].manifest.data,
                headers={"Content-Type": images[1].manifest.media_type},
            ).status_code in (400, 409)
            fresh = small_image("after-the-move")
            push_v2(v2, repo, fresh, "v9")
            pull_and_verify(v2, repo, "v9", fresh)
        user_ecr = make_client(server.url, access_key_id=user_key[0], secret_access_key=user_key[1])
        assert repo in {
            r["repositoryName"] for r in user_ecr.describe_repositories()["repositories"]
        }
        dockyard(data_dir, "iam", "create-user", f"{user}-2")  # a new principal id

    # And back: PostgreSQL into a new SQLite file holds the same rows.
    back = tmp_path / "back" / "metadata.db"
    back.parent.mkdir()
    returned = dockyard(
        data_dir, "db", "copy", "--to", f"sqlite:///{back}", database_url=target
    ).stdout
    before, after = _counts(copied), _counts(returned)
    pushed = len(images) + 1  # one image in two repositories: a manifest row in each
    assert before["manifests"] == pushed and before["tags"] == pushed, before
    for table, made_since in (("manifests", 1), ("tags", 1), ("principals", 1)):
        assert after[table] == before[table] + made_since, (table, before, after)


def _describe(ecr: Any, repo: str) -> list[tuple[str, tuple[str, ...], int, str]]:
    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    return sorted(
        (
            d["imageDigest"],
            tuple(sorted(d.get("imageTags", []))),
            d["imageSizeInBytes"],
            d["imagePushedAt"].isoformat(),
        )
        for d in details
    )


def _counts(output: str) -> dict[str, int]:
    """Rows per table from ``db copy``'s summary table."""
    counts = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[1].replace(",", "").isdigit():
            counts[cells[0]] = int(cells[1].replace(",", ""))
    return counts
