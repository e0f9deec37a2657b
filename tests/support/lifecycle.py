"""Helpers for the lifecycle and GC tests: the ``dockyard`` CLI, the server's clock, images.

Push times cannot be set through the API, so tests that need "pushed 10 days ago" move
the stored moments back in the running server's database (its SQLite file
``<data-dir>/metadata.db``, or the PostgreSQL database it was started on). Every caller
says so where it does it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select, update

from dockyard.metadata.database import create_database_engine
from dockyard.metadata.tables import manifests, repositories, repository_blobs
from tests.support.ecr import REGION, AwsCli
from tests.support.images import (
    MANIFEST_ACCEPT,
    Blob,
    Image,
    image_from_layers,
    make_layer,
    sha256_digest,
)
from tests.support.servers import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    DockyardProcess,
    database_url_of,
)

ROOT_ARN = "arn:aws:iam::000000000000:root"
# The server's own lifecycle and GC schedules off: nothing acts unless a test asks.
QUIET_SCHEDULE = {"DOCKYARD_LIFECYCLE_INTERVAL": "0", "DOCKYARD_GC_INTERVAL": "0"}


# --------------------------------------------------------------------------- servers


def start_dockyard(
    data_dir: Path,
    log_dir: Path,
    env: dict[str, str],
    open_access: bool = False,
    database_url: str | None = None,
) -> DockyardProcess:
    proc = DockyardProcess(
        data_dir, log_dir=log_dir, env=env, open_access=open_access, database_url=database_url
    )
    proc.start_ready()
    return proc


def stop_dockyard(proc: DockyardProcess) -> None:
    proc.stop_cleanly()


def aws_cli(endpoint: str, home: Path) -> AwsCli:
    """The ``aws`` CLI with the root keys and nothing from the user's ~/.aws."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )
    return AwsCli(endpoint, env)


# --------------------------------------------------------------------------- the CLI


def dockyard(
    data_dir: Path, *args: str, check: bool = True, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m dockyard ARGS --data-dir DATA_DIR`` beside the running server, on its
    database (or ``database_url``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["COLUMNS"] = "400"  # rich tables: keep digests and names on one line
    if database_url := database_url or database_url_of(data_dir):
        env["DOCKYARD_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "dockyard", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"dockyard {' '.join(args)} exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table printed by the CLI, as lists of stripped cells."""
    rows = []
    for line in output.splitlines():
        if line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


# --------------------------------------------------------------------------- the clock


def ago(days: float = 0, **more: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days, **more)


def _engine(data_dir: Path) -> Engine:
    """The server's metadata database, as the server opened it."""
    return create_database_engine(
        database_url_of(data_dir) or f"sqlite:///{data_dir / 'metadata.db'}"
    )


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite keeps the wall-clock time it is given: always give it UTC.
    return None if moment is None else moment.astimezone(UTC)


def _in_repository(repo: str) -> Any:
    return select(repositories.c.id).where(repositories.c.name == repo).scalar_subquery()


_IMAGE_TIMES = frozenset({"pushed_at", "last_pulled_at", "archived_at", "activated_at"})


def set_image_times(data_dir: Path, repo: str, digest: str, **moments: datetime | None) -> None:
    """Move an image's stored moments (``pushed_at=ago(10)``...) in the server's database."""
    assert moments and set(moments) <= _IMAGE_TIMES, moments
    engine = _engine(data_dir)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                update(manifests)
                .where(
                    manifests.c.digest == digest, manifests.c.repository_id == _in_repository(repo)
                )
                .values(**{name: _utc(m) for name, m in moments.items()})
            ).rowcount
    finally:
        engine.dispose()
    assert changed == 1, f"no image {digest} in {repo}"


def set_link_time(data_dir: Path, repo: str, digest: str, linked_at: datetime) -> None:
    """Move the moment ``repo`` first linked blob ``digest`` in the server's database."""
    engine = _engine(data_dir)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                update(repository_blobs)
                .where(
                    repository_blobs.c.digest == digest,
                    repository_blobs.c.repository_id == _in_repository(repo),
                )
                .values(linked_at=_utc(linked_at))
            ).rowcount
    finally:
        engine.dispose()
    assert changed == 1, f"{repo} has no link to {digest}"


# --------------------------------------------------------------------------- images


def small_image(seed: str, *shared: Blob, unique_layers: int = 1) -> Image:
    """An image of ``unique_layers`` layers of its own plus the ``shared`` ones."""
    own = [make_layer(f"{seed}/{i}", files=2, max_size=2048) for i in range(unique_layers)]
    return image_from_layers([*shared, *own], labels={"seed": seed})


def pull_and_verify(client: httpx.Client, repo: str, reference: str, image: Image) -> None:
    """Pull the manifest and every blob of ``image``; every byte must match its digest."""
    r = client.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200, f"GET manifest {repo}:{reference} -> {r.status_code} {r.text}"
    assert r.content == image.manifest.data
    assert r.headers["Docker-Content-Digest"] == image.digest
    for blob in image.blobs:
        got = client.get(f"/v2/{repo}/blobs/{blob.digest}")
        assert got.status_code == 200, f"GET blob {blob.digest} in {repo} -> {got.status_code}"
        assert sha256_digest(got.content) == blob.digest
        assert got.content == blob.data


def oci_error(response: httpx.Response) -> str:
    """The first OCI error code in a /v2 error body."""
    return str(response.json()["errors"][0]["code"])


def policy_text(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


def rule(
    priority: int,
    selection: dict[str, Any],
    action: dict[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": description or f"rule {priority} of a Dockyard lifecycle test policy",
        "selection": selection,
        "action": action or {"type": "expire"},
    }


def wait_for(
    what: str, probe: Callable[[], Any], timeout: float = 10, interval: float = 0.2
) -> Any:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not after {timeout}s (last: {last!r})")


def image_digests(ecr: Any, repo: str, status: str | None = None, **filters: str) -> set[str]:
    """Every image digest ListImages gives (all pages)."""
    params: dict[str, Any] = {"repositoryName": repo}
    wanted = dict(filters)
    if status is not None:
        wanted["imageStatus"] = status
    if wanted:
        params["filter"] = wanted
    found: set[str] = set()
    for page in ecr.get_paginator("list_images").paginate(**params):
        found |= {i["imageDigest"] for i in page["imageIds"]}
    return found


def describe(ecr: Any, repo: str, digest: str, status: str = "ANY") -> dict[str, Any]:
    """DescribeImages for one digest, whatever its storage class."""
    found = [
        d
        for page in ecr.get_paginator("describe_images").paginate(
            repositoryName=repo, filter={"imageStatus": status}
        )
        for d in page["imageDetails"]
        if d["imageDigest"] == digest
    ]
    assert len(found) == 1, f"{digest} in {repo} ({status}): {found}"
    return found[0]


def lines_naming(output: str, needles: Iterable[str]) -> list[str]:
    return [line for line in output.splitlines() if all(n in line for n in needles)]


def short(digest: str) -> str:
    """How the CLI's tables print a digest."""
    return digest[:19]
