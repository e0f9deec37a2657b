"""`python -m bench`: Dockyard against CNCF distribution (docker-registry), side by side."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

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
from .servers import (
    SPECS,
    DockyardSpec,
    ServerError,
    export_dockyard_rev,
    start_server,
)
from .workloads import WORKLOADS, Config, Ctx


def storage_of(path: Path) -> str:
    """'<path> (<fstype> at <mountpoint>)' for the data dirs' location."""
    real = str(path.resolve())
    best: Any = None
    for part in psutil.disk_partitions(all=True):
        mp = part.mountpoint
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and (
            best is None or len(mp) > len(best.mountpoint)
        ):
            best = part
    if best is None:
        return real
    return f"{real} ({best.fstype} mounted at {best.mountpoint})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Dockyard against docker-registry (CNCF distribution) on loopback.",
    )
    p.add_argument("--only", choices=sorted(SPECS), help="run against one server only")
    p.add_argument("--quick", action="store_true", help="small sizes and counts (a smoke run)")
    p.add_argument("--blob-mib", type=int, default=None, help="large-blob size (default 512)")
    p.add_argument("--out", type=Path, help="write the results as JSON to this file")
    p.add_argument(
        "--workloads",
        help="comma-separated subset of: " + ", ".join(w.key for w in WORKLOADS),
    )
    p.add_argument("--tmp-dir", type=Path, help="where the servers' data dirs go (default $TMPDIR)")
    p.add_argument("--keep-data", action="store_true", help="leave the data dirs behind")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--dockyard-rev",
        metavar="REV",
        help="benchmark Dockyard as committed at this git revision (e.g. HEAD), exported to a "
        "temp dir, instead of the working tree",
    )
    src.add_argument(
        "--dockyard-src", type=Path, metavar="DIR", help="directory that holds the dockyard package"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        metavar="S",
        help="before each workload wait up to S seconds for other processes to leave the CPU "
        "(default 30; 0 = don't wait)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        metavar="N",
        help="rerun a workload up to N times while other processes used >= 20%% of a core "
        "during it, keeping the least disturbed run (default 2)",
    )
    p.add_argument("--no-uvloop", action="store_true", help="use asyncio's default event loop")
    args = p.parse_args(argv)
    if args.blob_mib is not None and args.blob_mib < 1:
        p.error("--blob-mib must be >= 1")
    args.workloads = chosen_workloads(p, args.workloads)
    return args


def start(
    key: str, cfg: Config, block: bytes, selected: list[str], args: argparse.Namespace,
    dockyard_spec: DockyardSpec | None,
) -> Up:  # fmt: skip
    spec = dockyard_spec if key == "dockyard" and dockyard_spec else SPECS[key]()
    run = ServerRun(key, spec.label, version=spec.version())
    log(f"== {spec.label} {run.version}: starting")
    try:
        srv = start_server(spec, args.tmp_dir)
    except ServerError as exc:
        run.start_error = str(exc)
        log(f"   did not start: {exc}")
        for w in WORKLOADS:
            if w.key in selected:
                res = w.new_result(cfg)
                res.error = f"server did not start: {str(exc).splitlines()[0]}"
                run.results[w.key] = res
        return Up(run)
    run.started = True
    run.startup_s = srv.startup_seconds
    run.idle_rss = srv.idle_rss
    log(f"   ready on 127.0.0.1:{srv.port} in {srv.startup_seconds:.2f} s, data dir {srv.data_dir}")
    return Up(run, Ctx(srv, cfg, block))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = Config.quick(args.blob_mib) if args.quick else Config(blob_mib=args.blob_mib or 512)
    keys = [args.only] if args.only else ["dockyard", "distribution"]
    selected = args.workloads
    loop_factory, loop_name = loop_factory_for(not args.no_uvloop)

    busy_before = psutil.cpu_percent(interval=1.0) / 100 * (psutil.cpu_count() or 1)
    block = random_block(0xD0C)
    header = [
        "Dockyard vs docker-registry (CNCF distribution), loopback only: both servers up, one "
        "measured at a time, each workload on both in turn (who goes first alternates).",
        machine_line(loop_name),
        "The bench client and the server SHARE THESE CORES: every figure is client+server on "
        "the same box.",
        "ratio = Dockyard/registry for throughputs, registry/Dockyard for times: >1 means "
        "Dockyard is better.",
    ]
    if busy_before >= 0.2:
        header.append(
            f"WARNING: before the run the machine was already busy ({busy_before:.1f} cores in "
            "use by other processes): the figures will be disturbed."
        )
    tmp_root = args.tmp_dir or Path(tempfile.gettempdir())
    header.insert(3, f"Server data dirs under {storage_of(tmp_root)}; Dockyard fsyncs blobs.")
    if args.quick:
        header.insert(1, "QUICK RUN: small sizes and counts, figures are indicative only.")
    for line in header:
        log(line)

    with tempfile.TemporaryDirectory(prefix="bench-src-") as export_dir:
        dockyard_spec = DockyardSpec(args.dockyard_src)
        if args.dockyard_rev:
            src_dir, sha = export_dockyard_rev(args.dockyard_rev, Path(export_dir))
            dockyard_spec = DockyardSpec(src_dir, sha)
            log(f"Dockyard exported from git revision {args.dockyard_rev} ({sha})")
        ups: list[Up] = []
        try:
            for key in keys:
                ups.append(start(key, cfg, block, selected, args, dockyard_spec))
            run_interleaved(ups, selected, args, loop_factory)
        finally:
            for up in ups:
                stop(up, args)
        runs = [up.run for up in ups]

    order = [(w.key, w.group, w.title(cfg)) for w in WORKLOADS if w.key in selected]
    print()
    print(render(runs, order, header))

    if args.out:
        doc: dict[str, Any] = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "argv": sys.argv[1:] if argv is None else argv,
            "quick": args.quick,
            "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
            "machine": {
                "cpus": psutil.cpu_count(),
                "memory_bytes": psutil.virtual_memory().total,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "client_loop": loop_name,
                "cores_busy_before_run": busy_before,
                "data_dirs_under": storage_of(tmp_root),
                "note": "client and server share the same cores",
            },
            "servers": {r.key: r.as_json() for r in runs},
        }
        if len(runs) == 2:
            d, x = runs[0], runs[1]
            doc["ratios_dockyard_over_distribution"] = {
                k: ratio(d.results.get(k), x.results.get(k)) for k, _g, _t in order
            }
        write_json(args.out, doc)
    failed = any(not r.ok for run in runs for r in run.results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    os._exit(130)
