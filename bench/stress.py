"""Stress: pushes, tag moves, deletes, lifecycle and GC all at once; then nothing may be lost.

    python -m bench.stress --seconds 300          # the long form
    python -m bench.stress --seconds 20 --keep    # short, and keep the data dir to look at
    python -m bench.stress --database-url postgresql://user@host/db   # on PostgreSQL

One Dockyard (open access; ``DOCKYARD_GC_INTERVAL=1s``, ``DOCKYARD_GC_GRACE_PERIOD=3s``,
``DOCKYARD_LIFECYCLE_INTERVAL=2s``) and, at the same time:

* pushers: new images (some layers from a shared pool, some unique; monolithic
  ``POST ?digest=`` per blob, then the manifest ``PUT``), tagged with tags each pusher
  owns (so tags move between its images) or untagged;
* a tag mover: points tags it owns at existing images;
* a deleter: ``BatchDeleteImage`` of existing images;
* a verifier: pulls existing images and checks every byte;
* a lifecycle pusher: pushes to two repositories of their own that carry lifecycle
  policies, applied by the server's scheduler;
* ``dockyard gc`` CLI passes beside the server (same settings, so the default grace period
  is the server's), besides the server's own GC every second.

A ledger records every image that should exist: acknowledged pushes not deleted since. At
the end (after a last ``dockyard lifecycle run``): the exact repositories hold exactly the
ledger's images and tags; the lifecycle repositories hold exactly what their policies keep
(each policy's result does not depend on when it ran); every image pulls and every byte
matches its digest; and, after waiting past the grace period and a last ``dockyard gc``,
every blob file is referenced by some manifest and every referenced blob has its file.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from sqlalchemy import text

from dockyard.app import s3_config
from dockyard.config import load_settings
from dockyard.metadata.database import create_database_engine
from dockyard.storage import open_blob_store

ROOT_KEY = ("AKIADOCKYARDSTRESS01", "dockyard-stress-root-secret-0123456789ab")
REGION = "us-east-1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

EXACT_REPOS = ("stress/a", "stress/b", "stress/c")
LC_KEEP_FIVE = "stress/lc-any"  # policy: keep the 5 newest images
LC_BY_TAG = "stress/lc-tags"  # policy: keep the 2 newest rc-* and the 3 newest v* images


def _rule(priority: int, selection: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": what,
        "selection": selection,
        "action": {"type": "expire"},
    }


POLICIES = {
    LC_KEEP_FIVE: json.dumps(
        {
            "rules": [
                _rule(
                    1,
                    {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
                    "keep the five newest images",
                )
            ]
        }
    ),
    LC_BY_TAG: json.dumps(
        {
            "rules": [
                _rule(
                    1,
                    {
                        "tagStatus": "tagged",
                        "tagPatternList": ["rc-*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 2,
                    },
                    "keep the two newest release candidates",
                ),
                _rule(
                    2,
                    {
                        "tagStatus": "tagged",
                        "tagPrefixList": ["v"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 3,
                    },
                    "keep the three newest releases",
                ),
            ]
        }
    ),
}


# --------------------------------------------------------------------------- content


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256(self.data)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Image:
    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return (self.config, *self.layers)


def shared_pool(rng: random.Random, count: int) -> list[Blob]:
    return [Blob(rng.randbytes(rng.randint(4 << 10, 64 << 10)), OCI_LAYER) for _ in range(count)]


def build_image(rng: random.Random, pool: list[Blob], label: str) -> Image:
    layers = rng.sample(pool, rng.randint(0, 3))
    layers += [
        Blob(rng.randbytes(rng.randint(1 << 10, 32 << 10)), OCI_LAYER)
        for _ in range(rng.randint(1, 2))
    ]
    rng.shuffle(layers)
    config = Blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"stress": label}},
                "rootfs": {"type": "layers", "diff_ids": [b.digest for b in layers]},
            },
            sort_keys=True,
        ).encode(),
        OCI_CONFIG,
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [b.descriptor() for b in layers],
        },
        sort_keys=True,
    ).encode()
    return Image(config, tuple(layers), manifest)


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python -m dockyard ARGS`` on the server's data with the server's settings."""
        command = [sys.executable, "-m", "dockyard", *args, "--data-dir", str(self.data_dir)]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    work: Path,
    grace: str,
    gc_interval: str,
    lifecycle_interval: str,
    database_url: str | None = None,
    name: str = "data",
    node_env: dict[str, str] | None = None,
) -> Server:
    port = _free_port()
    data_dir = work / name
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(node_env or {})
    if database_url:  # the server and the CLI beside it alike
        env["DOCKYARD_DATABASE_URL"] = database_url
    env.update(
        DOCKYARD_GC_INTERVAL=gc_interval,
        DOCKYARD_GC_GRACE_PERIOD=grace,
        DOCKYARD_LIFECYCLE_INTERVAL=lifecycle_interval,
        DOCKYARD_ROOT_ACCESS_KEY_ID=ROOT_KEY[0],
        DOCKYARD_ROOT_SECRET_ACCESS_KEY=ROOT_KEY[1],
        COLUMNS="300",
    )
    log_path = work / f"dockyard-{name}.log"
    command = [
        sys.executable, "-m", "dockyard", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--insecure-no-auth", "--create-on-push",
        "--log-level", "warning",
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    server = Server(f"http://127.0.0.1:{port}", data_dir, env, proc, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockyard exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/v2/", timeout=2).status_code in (200, 401):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"dockyard not ready after 30s:\n{server.log_tail()}")


def stop_server(server: Server) -> int:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    return server.proc.returncode


def ecr_client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=ROOT_KEY[0], aws_secret_access_key=ROOT_KEY[1], region_name=REGION
    )
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120)
    return session.client("ecr", endpoint_url=url, config=config)


# --------------------------------------------------------------------------- the ledger


class PushFailed(Exception):
    pass


class Ledger:
    """Every image and tag that should exist in the exact repositories; the lifecycle pushes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.images: dict[str, dict[str, Image]] = {r: {} for r in EXACT_REPOS}
        self.tags: dict[str, dict[str, str]] = {r: {} for r in EXACT_REPOS}
        self.lifecycle: dict[str, list[tuple[str, Image]]] = {r: [] for r in POLICIES}
        self._repo_locks = {r: threading.Lock() for r in EXACT_REPOS}

    @contextmanager
    def holding(self, repo: str) -> Iterator[None]:
        """Keep ``repo``'s existing images as they are (deleter, mover, verifier take it)."""
        with self._repo_locks[repo]:
            yield

    def pushed(self, repo: str, image: Image, tag: str | None) -> None:
        with self.lock:
            self.images[repo][image.digest] = image
            if tag is not None:
                self.tags[repo][tag] = image.digest

    def tagged(self, repo: str, tag: str, digest: str) -> None:
        with self.lock:
            self.tags[repo][tag] = digest

    def deleted(self, repo: str, digest: str) -> None:
        with self.lock:
            del self.images[repo][digest]
            for tag in [t for t, d in self.tags[repo].items() if d == digest]:
                del self.tags[repo][tag]

    def pick(self, repo: str, rng: random.Random) -> Image | None:
        with self.lock:
            images = list(self.images[repo].values())
        return rng.choice(images) if images else None

    def count(self, repo: str) -> int:
        with self.lock:
            return len(self.images[repo])


# --------------------------------------------------------------------------- registry calls


def push_blob(client: httpx.Client, repo: str, blob: Blob) -> None:
    r = client.post(
        f"/v2/{repo}/blobs/uploads/",
        params={"digest": blob.digest},
        content=blob.data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if r.status_code != 201:
        raise PushFailed(f"POST blob {blob.digest} to {repo}: {r.status_code} {r.text[:300]}")


def put_manifest(client: httpx.Client, repo: str, reference: str, image: Image) -> None:
    r = client.put(
        f"/v2/{repo}/manifests/{reference}",
        content=image.manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    if r.status_code != 201:
        raise PushFailed(f"PUT manifest {repo}:{reference}: {r.status_code} {r.text[:300]}")
    if r.headers.get("Docker-Content-Digest") != image.digest:
        raise PushFailed(f"PUT manifest {repo}:{reference}: wrong Docker-Content-Digest")


def push(client: httpx.Client, repo: str, image: Image, tag: str | None) -> None:
    for blob in image.blobs:
        push_blob(client, repo, blob)
    put_manifest(client, repo, tag or image.digest, image)


def pull_problems(client: httpx.Client, repo: str, reference: str, image: Image) -> list[str]:
    """Pull the manifest and every blob; what is wrong (nothing: an empty list)."""
    r = client.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
    if r.status_code != 200:
        return [f"GET manifest {repo}:{reference}: {r.status_code} {r.text[:200]}"]
    if r.content != image.manifest:
        return [f"GET manifest {repo}:{reference}: different bytes"]
    problems = []
    for blob in image.blobs:
        got = client.get(f"/v2/{repo}/blobs/{blob.digest}")
        if got.status_code != 200:
            problems.append(f"GET blob {blob.digest} in {repo}: {got.status_code}")
        elif sha256(got.content) != blob.digest or got.content != blob.data:
            problems.append(f"GET blob {blob.digest} in {repo}: bytes differ from the digest")
    return problems


# --------------------------------------------------------------------------- the run


@dataclass
class StressConfig:
    seconds: float = 30
    pushers: int = 3
    seed: int = 1
    grace: float = 3.0  # DOCKYARD_GC_GRACE_PERIOD, seconds
    work_dir: Path | None = None
    keep: bool = False
    database_url: str | None = None  # None: SQLite in the data dir
    # Several nodes over one database (PostgreSQL) and one blob store (s3 through node_env):
    # the writers are spread over the nodes.
    nodes: int = 1
    node_env: dict[str, str] = field(default_factory=dict)  # DOCKYARD_* for every node


@dataclass
class StressReport:
    seconds: float = 0
    pushed: int = 0
    pushed_lifecycle: int = 0
    tag_moves: int = 0
    deleted: int = 0
    expired_by_lifecycle: int = 0
    verified_during_run: int = 0
    verified_at_end: int = 0
    blobs_verified_at_end: int = 0
    bytes_verified_at_end: int = 0
    gc_cli_passes: int = 0
    gc_cli_freed_blobs: int = 0
    server_gc_jobs: dict[str, int] = field(default_factory=dict)
    server_gc_freed_blobs: int = 0
    lifecycle_jobs: dict[str, int] = field(default_factory=dict)
    lifecycle_actions: int = 0
    blob_files_at_end: int = 0
    referenced_blobs_at_end: int = 0
    push_failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    work_dir: str = ""

    def summary(self) -> str:
        lines = [
            f"stress: {self.seconds:.0f}s of concurrent work",
            f"  images pushed (acknowledged): {self.pushed} to exact repositories, "
            f"{self.pushed_lifecycle} to lifecycle repositories",
            f"  tag moves: {self.tag_moves}; images deleted: {self.deleted}; "
            f"expired by lifecycle: {self.expired_by_lifecycle} "
            f"({self.lifecycle_actions} lifecycle actions recorded)",
            f"  pulls verified during the run: {self.verified_during_run}; images verified at "
            f"the end: {self.verified_at_end} ({self.blobs_verified_at_end} blobs, "
            f"{self.bytes_verified_at_end} bytes)",
            f"  GC: {self.gc_cli_passes} dockyard gc CLI passes (freed "
            f"{self.gc_cli_freed_blobs} blobs); server GC jobs {self.server_gc_jobs} (freed "
            f"{self.server_gc_freed_blobs} blobs); lifecycle jobs {self.lifecycle_jobs}",
            f"  at the end: {self.blob_files_at_end} blob files, "
            f"{self.referenced_blobs_at_end} referenced blobs",
            f"  push failures: {len(self.push_failures)}; problems: {len(self.problems)}",
        ]
        lines += [f"  PUSH FAILED: {p}" for p in self.push_failures[:20]]
        lines += [f"  PROBLEM: {p}" for p in self.problems[:50]]
        if self.work_dir:
            lines.append(f"  data kept in {self.work_dir}")
        return "\n".join(lines)


class _Run:
    def __init__(self, cfg: StressConfig, servers: list[Server], report: StressReport) -> None:
        self.cfg = cfg
        self.server = servers[0]  # the CLI's and the checks' node
        self.servers = servers
        self._next_node = itertools.count()
        self.report = report
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.counts_lock = threading.Lock()
        self.pool = shared_pool(random.Random(cfg.seed), 16)

    def client(self) -> httpx.Client:
        """A client of the next node in turn: each worker thread writes through its own."""
        node = self.servers[next(self._next_node) % len(self.servers)]
        # Blob GETs on s3 answer 307 to a presigned URL, which clients follow.
        return httpx.Client(base_url=node.url, timeout=120, follow_redirects=True)

    def problem(self, text: str) -> None:
        with self.counts_lock:
            self.report.problems.append(text)

    def count(self, name: str, by: int = 1) -> None:
        with self.counts_lock:
            setattr(self.report, name, getattr(self.report, name) + by)

    def worker(self, name: str, body: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                body()
            except Exception as exc:  # a worker that dies is a finding, not a hang
                self.problem(f"worker {name} died: {type(exc).__name__}: {exc}")
                self.stop.set()

        return threading.Thread(target=guarded, name=name, daemon=True)

    # -- workers ---------------------------------------------------------------------

    def pusher(self, n: int) -> None:
        rng = random.Random(f"{self.cfg.seed}/pusher/{n}")
        with self.client() as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                repo = rng.choice(EXACT_REPOS)
                image = build_image(rng, self.pool, f"p{n}-{i}")
                tag = f"p{n}-t{rng.randrange(4)}" if rng.random() < 0.8 else None
                try:
                    push(client, repo, image, tag)
                except PushFailed as failed:
                    with self.counts_lock:
                        self.report.push_failures.append(str(failed))
                    continue
                self.ledger.pushed(repo, image, tag)
                self.count("pushed")

    def mover(self) -> None:
        rng = random.Random(f"{self.cfg.seed}/mover")
        with self.client() as client:
            while not self.stop.is_set():
                repo = rng.choice(EXACT_REPOS)
                with self.ledger.holding(repo):
                    image = self.ledger.pick(repo, rng)
                    if image is None:
                        continue
                    tag = f"m-t{rng.randrange(6)}"
                    try:
                        put_manifest(client, repo, tag, image)
                    except PushFailed as failed:
                        self.problem(f"moving a tag to an existing image: {failed}")
                        continue
                    self.ledger.tagged(repo, tag, image.digest)
                self.count("tag_moves")
                time.sleep(0.02)

    def deleter(self) -> None:
        rng = random.Random(f"{self.cfg.seed}/deleter")
        ecr = ecr_client(self.servers[-1].url)  # deletes through the last node
        while not self.stop.is_set():
            repo = rng.choice(EXACT_REPOS)
            if self.ledger.count(repo) <= 4:
                time.sleep(0.05)
                continue
            with self.ledger.holding(repo):
                image = self.ledger.pick(repo, rng)
                assert image is not None
                done = ecr.batch_delete_image(
                    repositoryName=repo, imageIds=[{"imageDigest": image.digest}]
                )
                if done["failures"] or len(done["imageIds"]) < 1:
                    self.problem(f"BatchDeleteImage {repo}@{image.digest}: {done['failures']}")
                    continue
                self.ledger.deleted(repo, image.digest)
            self.count("deleted")
            time.sleep(0.01)

    def verifier(self) -> None:
        rng = random.Random(f"{self.cfg.seed}/verifier")
        with self.client() as client:
            while not self.stop.is_set():
                repo = rng.choice(EXACT_REPOS)
                with self.ledger.holding(repo):
                    image = self.ledger.pick(repo, rng)
                    if image is None:
                        continue
                    found = pull_problems(client, repo, image.digest, image)
                for p in found:
                    self.problem(f"during the run: {p}")
                self.count("verified_during_run")
                time.sleep(0.02)

    def lifecycle_pusher(self) -> None:
        rng = random.Random(f"{self.cfg.seed}/lifecycle")
        with self.client() as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                for repo in POLICIES:
                    image = build_image(rng, self.pool, f"{repo}-{n}")
                    if repo == LC_KEEP_FIVE:
                        tag: str | None = f"b{n}" if n % 3 else None
                    else:
                        tag = f"rc-{n}" if n % 2 else f"v{n}"
                    try:
                        push(client, repo, image, tag)
                    except PushFailed as failed:
                        with self.counts_lock:
                            self.report.push_failures.append(str(failed))
                        continue
                    with self.ledger.lock:
                        self.ledger.lifecycle[repo].append((tag or "", image))
                    self.count("pushed_lifecycle")
                time.sleep(0.05)

    def gc_cli(self) -> None:
        while not self.stop.is_set():
            done = self.server.cli("gc")
            if done.returncode != 0:
                self.problem(f"dockyard gc exited {done.returncode}: {done.stderr[-1500:]}")
            else:
                self.count("gc_cli_passes")
                self.count("gc_cli_freed_blobs", _freed(done.stdout))
            self.stop.wait(0.3)

    # -- the end ---------------------------------------------------------------------

    def expected_lifecycle(self, repo: str) -> set[str]:
        pushed = self.ledger.lifecycle[repo]  # in push order: oldest first
        if repo == LC_KEEP_FIVE:
            return {image.digest for _, image in pushed[-5:]}
        rcs = [image.digest for tag, image in pushed if tag.startswith("rc-")]
        releases = [image.digest for tag, image in pushed if tag.startswith("v")]
        return set(rcs[-2:]) | set(releases[-3:])

    def check_contents(self, ecr: Any) -> dict[str, Image]:
        """What each repository holds against the ledger; every image that should exist."""
        wanted: dict[str, Image] = {}
        for repo in EXACT_REPOS:
            listed = list_images(ecr, repo)
            ledger = self.ledger.images[repo]
            for digest in ledger.keys() - listed:
                self.problem(f"{repo}@{digest}: acknowledged, never deleted, not listed")
            for digest in listed - ledger.keys():
                self.problem(f"{repo}@{digest}: listed, but deleted (or never pushed)")
            with self.client() as client:
                r = client.get(f"/v2/{repo}/tags/list")
                tags = set(r.json().get("tags") or []) if r.status_code == 200 else set()
                if tags != set(self.ledger.tags[repo]):
                    self.problem(
                        f"{repo}: tags {sorted(tags)} but the ledger has "
                        f"{sorted(self.ledger.tags[repo])}"
                    )
                for tag, digest in self.ledger.tags[repo].items():
                    head = client.head(
                        f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
                    )
                    if head.headers.get("Docker-Content-Digest") != digest:
                        self.problem(
                            f"{repo}:{tag} is {head.status_code} "
                            f"{head.headers.get('Docker-Content-Digest')}, not {digest}"
                        )
            wanted.update({f"{repo}@{d}": image for d, image in ledger.items()})
        for repo in POLICIES:
            listed = list_images(ecr, repo)
            pushed = {image.digest: image for _, image in self.ledger.lifecycle[repo]}
            expected = self.expected_lifecycle(repo)
            if listed != expected:
                self.problem(
                    f"{repo}: after lifecycle holds {len(listed)} images, expected "
                    f"{len(expected)}; missing {sorted(expected - listed)}, extra "
                    f"{sorted(listed - expected)}"
                )
            self.report.expired_by_lifecycle += len(pushed.keys() - listed)
            wanted.update({f"{repo}@{d}": pushed[d] for d in listed & pushed.keys()})
            with self.client() as client:
                for digest in pushed.keys() - listed:
                    r = client.get(f"/v2/{repo}/manifests/{digest}")
                    if r.status_code != 404:
                        self.problem(f"{repo}@{digest}: expired, but GET answers {r.status_code}")
        return wanted

    def verify_pulls(self, wanted: dict[str, Image]) -> None:
        with self.client() as client:
            for where, image in sorted(wanted.items()):
                repo, digest = where.split("@", 1)
                for p in pull_problems(client, repo, digest, image):
                    self.problem(f"at the end: {p}")
                self.report.verified_at_end += 1
                self.report.blobs_verified_at_end += len(image.blobs)
                self.report.bytes_verified_at_end += sum(len(b.data) for b in image.blobs)

    def check_store(self, wanted: dict[str, Image]) -> None:
        """Every blob file is referenced by some manifest; every referenced blob has its file."""
        files = stored_blobs(self.server)
        referenced = {
            d
            for (d,) in self.query(
                "SELECT DISTINCT digest FROM manifest_references WHERE kind = 'blob'"
            )
        }
        rows = {d for (d,) in self.query("SELECT digest FROM blobs")}
        expected = {b.digest for image in wanted.values() for b in image.blobs}
        self.report.blob_files_at_end = len(files)
        self.report.referenced_blobs_at_end = len(referenced)
        for digest in sorted(files.keys() - referenced):
            self.problem(f"blob {digest} is on disk, but no manifest references it")
        for digest in sorted(referenced - files.keys()):
            self.problem(f"blob {digest} is referenced, but its file is gone")
        for digest in sorted(rows - files.keys()):
            self.problem(f"blob {digest} has a row, but no file")
        if referenced != expected:
            self.problem(
                f"manifests reference {len(referenced)} blobs, the ledger's images "
                f"{len(expected)} (only in the database: {len(referenced - expected)}, only in "
                f"the ledger: {len(expected - referenced)})"
            )

    def job_figures(self) -> None:
        # The server's scheduled jobs have the key "periodic"; the CLI's runs have none.
        for kind, name in (("gc", "server_gc_jobs"), ("lifecycle", "lifecycle_jobs")):
            rows = self.query(
                "SELECT state, COUNT(*) FROM jobs WHERE kind = :kind AND key = 'periodic' "
                "GROUP BY state",
                kind=kind,
            )
            setattr(self.report, name, {state: int(n) for state, n in rows})
        freed = 0
        for (result,) in self.query(
            "SELECT result FROM jobs WHERE kind = 'gc' AND key = 'periodic' AND state = 'done'"
        ):
            if result:  # JSON text from SQLite, already parsed from PostgreSQL
                found = json.loads(result) if isinstance(result, str) else result
                freed += len(found.get("freed_blobs") or [])
        self.report.server_gc_freed_blobs = freed
        ((actions,),) = self.query("SELECT COUNT(*) FROM lifecycle_actions")
        self.report.lifecycle_actions = int(actions)
        for kind, error in self.query(
            "SELECT kind, error FROM jobs WHERE state = 'failed' LIMIT 5"
        ):
            self.problem(f"a {kind} job failed: {error}")

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the server's metadata database (SQLite or PostgreSQL)."""
        url = self.server.env.get("DOCKYARD_DATABASE_URL") or (
            f"sqlite:///{self.server.data_dir / 'metadata.db'}"
        )
        engine = create_database_engine(url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()


def _freed(output: str) -> int:
    first = output.split(" blobs", 1)[0].rsplit(" ", 1)[-1]
    return int(first) if first.isdigit() else 0


def list_images(ecr: Any, repo: str) -> set[str]:
    found: set[str] = set()
    for page in ecr.get_paginator("list_images").paginate(
        repositoryName=repo, filter={"imageStatus": "ANY"}
    ):
        found |= {i["imageDigest"] for i in page["imageIds"]}
    return found


def stored_blobs(server: Server) -> dict[str, int]:
    """Every blob the node's store holds, listed through the store itself for s3."""
    if server.env.get("DOCKYARD_STORAGE_BACKEND") != "s3":
        return blob_files(server.data_dir)
    settings = load_settings({"data_dir": server.data_dir}, environ=server.env)
    store = open_blob_store("s3", server.data_dir, s3_config(settings))

    async def listing() -> dict[str, int]:
        return {str(digest): size async for digest, size, _ in store.blobs()}

    return asyncio.run(listing())


def blob_files(data_dir: Path) -> dict[str, int]:
    root = data_dir / "storage" / "blobs"
    return {
        f"{p.parent.parent.name}:{p.name}": p.stat().st_size
        for p in root.glob("*/??/*")
        if not p.name.startswith(".")
    }


def run(cfg: StressConfig, log: Callable[[str], None] = lambda _: None) -> StressReport:
    """Run the stress for ``cfg.seconds``, check everything, return the figures."""
    work = cfg.work_dir or Path(tempfile.mkdtemp(prefix="dockyard-stress-"))
    work.mkdir(parents=True, exist_ok=True)
    report = StressReport()
    grace = f"{cfg.grace:g}s"
    servers: list[Server] = []
    for n in range(cfg.nodes):  # one after the other: the first migrates the database
        servers.append(
            start_server(
                work,
                grace=grace,
                gc_interval="1s",
                lifecycle_interval="2s",
                database_url=cfg.database_url,
                name="data" if n == 0 else f"data-{n}",
                node_env=cfg.node_env,
            )
        )
    server = servers[0]
    state = _Run(cfg, servers, report)
    try:
        ecr = ecr_client(server.url)
        for repo in (*EXACT_REPOS, *POLICIES):
            ecr.create_repository(repositoryName=repo)
        for repo, text in POLICIES.items():
            ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)

        threads = [
            state.worker(f"pusher-{n}", functools.partial(state.pusher, n))
            for n in range(cfg.pushers)
        ]
        threads += [
            state.worker("mover", state.mover),
            state.worker("deleter", state.deleter),
            state.worker("verifier", state.verifier),
            state.worker("lifecycle-pusher", state.lifecycle_pusher),
            state.worker("gc-cli", state.gc_cli),
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        log(f"stress: {len(threads)} workers for {cfg.seconds:g}s on {server.url} ({work})")
        while time.monotonic() - started < cfg.seconds and not state.stop.is_set():
            gone = [n for n in servers if n.proc.poll() is not None]
            if gone:
                state.problem(f"a server exited with {gone[0].proc.returncode}")
                break
            state.stop.wait(1)
        state.stop.set()
        for t in threads:
            t.join(timeout=180)
            if t.is_alive():
                state.problem(f"worker {t.name} did not stop")
        report.seconds = time.monotonic() - started
        log(f"stress: workers stopped; {report.pushed} pushed, {report.deleted} deleted")

        # Lifecycle once more, so that each policy's result is final.
        done = server.cli("lifecycle", "run")
        if done.returncode != 0:
            state.problem(f"dockyard lifecycle run exited {done.returncode}: {done.stderr}")
        # Past the grace period twice (links go stale, then marked blobs are swept), then GC.
        time.sleep(2 * cfg.grace + 2)
        done = server.cli("gc")
        if done.returncode != 0:
            state.problem(f"the last dockyard gc exited {done.returncode}: {done.stderr}")
        else:
            report.gc_cli_passes += 1
            report.gc_cli_freed_blobs += _freed(done.stdout)
        wanted = state.check_contents(ecr)
        state.verify_pulls(wanted)
        state.check_store(wanted)
        state.job_figures()
    finally:
        state.stop.set()
        for node in servers:
            code = stop_server(node)
            if code != 0:
                report.problems.append(f"dockyard exited {code} on SIGTERM:\n{node.log_tail()}")
            log_text = node.log_path.read_text(errors="replace")
            if "Traceback" in log_text:
                at = log_text.index("Traceback")
                report.problems.append(
                    f"the server logged a traceback:\n{log_text[at : at + 3000]}"
                )
        if cfg.keep or report.problems:
            report.work_dir = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300, help="how long the workers run")
    parser.add_argument("--pushers", type=int, default=3, help="pusher threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--grace", type=float, default=3.0, help="GC grace period, seconds")
    parser.add_argument("--work-dir", type=Path, help="where the data goes (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir afterwards")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--database-url", help="metadata database (default: SQLite in the data dir)"
    )
    args = parser.parse_args(argv)
    cfg = StressConfig(
        args.seconds,
        args.pushers,
        args.seed,
        args.grace,
        args.work_dir,
        args.keep,
        args.database_url,
    )
    report = run(cfg, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 1 if report.problems or report.push_failures else 0


if __name__ == "__main__":
    sys.exit(main())
