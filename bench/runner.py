"""Running one workload against one server (or one deployment): waiting for a quiet
machine first, rerunning it while other processes disturbed it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .report import ServerRun
from .servers import ResourceSampler, cleanup, stop_server
from .workloads import WORKLOADS, Ctx, Result, WorkloadSpec, describe_error

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory_for(use_uvloop: bool) -> tuple[LoopFactory | None, str]:
    if use_uvloop:
        try:
            import uvloop

            return uvloop.new_event_loop, f"uvloop {getattr(uvloop, '__version__', '?')}"
        except ImportError:
            pass
    return None, "asyncio (default loop)"


def chosen_workloads(parser: argparse.ArgumentParser, text: str | None) -> list[str]:
    """The keys named in ``--workloads`` (all when none), in the order they run and print."""
    known = {w.key for w in WORKLOADS}
    wanted = [w.strip() for w in (text or "").split(",") if w.strip()] or list(known)
    if unknown := [w for w in wanted if w not in known]:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    return [w.key for w in WORKLOADS if w.key in wanted]


def machine_line(loop_name: str) -> str:
    return (
        f"Machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / (1 << 30):.0f} "
        f"GiB RAM, Python {platform.python_version()}, client loop: {loop_name}."
    )


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"JSON written to {path}")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


DISTURBED = 0.2  # other processes using this share of a core make a figure suspect


def wait_quiet(
    server_pids: Sequence[int], limit: float, threshold: float = 0.15
) -> tuple[float, float]:
    """Wait (up to `limit` s) until other processes use < `threshold` of a core over 1 s.

    Returns (seconds waited, last measured share of a core used by others)."""
    if limit <= 0:
        return 0.0, 0.0
    t0 = time.perf_counter()
    other = 0.0
    while True:
        with ResourceSampler(*server_pids, interval=1.0) as s:
            time.sleep(1.0)
        other = s.other_cpu_seconds
        if other < threshold or time.perf_counter() - t0 >= limit:
            return time.perf_counter() - t0, other


def run_once(w: WorkloadSpec, ctx: Ctx, runner: asyncio.Runner, args: argparse.Namespace) -> Result:
    cfg, srv = ctx.cfg, ctx.server
    res = w.new_result(cfg)
    if not srv.alive():
        res.error = (
            f"server is no longer running (exit code {srv.proc.returncode}); "
            f"log tail:\n{srv.log_tail(15)}"
        )
        return res
    # What the last workload wrote and did not sync (docker-registry never fsyncs) would
    # otherwise be flushed on this one's time: an fsync on ext4 (data=ordered) waits for
    # every file's dirty data in the journal's transaction, not only its own.
    os.sync()
    waited, other = wait_quiet(ctx.pids, args.quiet_wait)
    if waited >= 1.5:
        log(f"   waited {waited:.0f} s for a quiet machine (others: {other:.0%} core)")
    log(f"   {w.key}: {res.title} ..." + (f" (attempt {ctx.attempt + 1})" if ctx.attempt else ""))
    t0 = time.perf_counter()
    try:
        runner.run(asyncio.wait_for(w.run(ctx, res), cfg.workload_timeout))
        res.ok = True
    except TimeoutError:
        res.error = f"workload exceeded its {cfg.workload_timeout:.0f} s limit"
    except Exception as exc:
        res.error = describe_error(exc)
    res.extra["elapsed_incl_setup_s"] = time.perf_counter() - t0
    if not res.ok and not srv.alive():
        res.error = (
            f"{res.error}\n    the server exited (code {srv.proc.returncode}); "
            f"log tail:\n{srv.log_tail(15)}"
        )
    return res


def run_workload(
    w: WorkloadSpec, ctx: Ctx, runner: asyncio.Runner, args: argparse.Namespace
) -> Result:
    """Run a workload; rerun it (up to --retries times) while other processes disturbed it,
    and keep the least disturbed successful attempt. Failures are never retried."""
    best: Result | None = None
    for attempt in range(1 + max(0, args.retries)):
        ctx.attempt = attempt
        res = run_once(w, ctx, runner, args)
        other = w.disturbed(res)
        status = f"{res.value:,.1f} {res.unit}  {res.detail}" if res.ok else f"FAILED: {res.error}"
        elapsed = res.extra.get("elapsed_incl_setup_s", 0.0)
        log(
            f"   {w.key}: {status}  ({elapsed:.1f} s incl. setup; "
            f"others used {other:.0%} of a core)"
        )
        if not res.ok:
            return res
        if best is None or other < w.disturbed(best):
            best = res
        if other < DISTURBED:
            break
    assert best is not None
    best.attempts = attempt + 1
    return best


@dataclass
class Up:
    """A server under test: its report and, once started, the process and workload state."""

    run: ServerRun
    ctx: Ctx | None = None


def stop(up: Up, args: argparse.Namespace) -> None:
    """Stop every node; the run's exit code is the first node's, its notes all nodes'."""
    if up.ctx is None:
        return
    for srv in reversed(up.ctx.nodes):
        stop_server(srv)
        up.run.notes.extend(srv.notes)
        if args.keep_data:
            log(f"   data kept in {srv.work_dir}")
        cleanup(srv, keep=args.keep_data)
    up.run.exit_code = up.ctx.server.exit_code
    log(f"== {up.run.label}: stopped (exit code {up.run.exit_code})")


def run_interleaved(
    ups: list[Up],
    selected: list[str],
    args: argparse.Namespace,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
) -> None:
    """Each workload on every server in turn, the first server alternating from one workload
    to the next: on a shared (virtual) machine whatever state the previous workload left,
    such as page-cache memory the host has to back again, falls on both servers alike
    rather than on whichever ran all its workloads first."""
    started = [up for up in ups if up.ctx is not None]
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        for n, w in enumerate(w for w in WORKLOADS if w.key in selected):
            for up in started if n % 2 == 0 else started[::-1]:
                assert up.ctx is not None
                log(f"-- {up.run.label}")
                up.run.results[w.key] = run_workload(w, up.ctx, runner, args)
