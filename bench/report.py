"""Plain-text tables and the JSON document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .workloads import Result

MiB = 1 << 20


@dataclass
class ServerRun:
    key: str
    label: str
    version: str = "?"
    started: bool = False
    start_error: str | None = None
    startup_s: float | None = None
    idle_rss: int | None = None
    exit_code: int | None = None
    notes: list[str] = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "version": self.version,
            "started": self.started,
            "start_error": self.start_error,
            "startup_s": self.startup_s,
            "idle_rss_bytes": self.idle_rss,
            "exit_code_after_sigterm": self.exit_code,
            "notes": self.notes,
            "workloads": {k: r.as_json() for k, r in self.results.items()},
        }


def fmt_value(res: Result) -> str:
    if res.value is None:
        return "-"
    v = res.value
    if res.unit in ("MiB/s", "req/s"):
        num = f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
    elif res.unit == "images/s":
        num = f"{v:.1f}"
    else:
        num = f"{v:,.1f}" if v >= 10 else f"{v:.2f}"
    return f"{num} {res.unit}"


def fmt_mib(n: int | None) -> str:
    return "-" if n is None else f"{n / MiB:,.0f} MiB"


def ratio(d: Result | None, x: Result | None) -> float | None:
    """`d` relative to `x` (Dockyard to distribution, two nodes to one), oriented so that
    > 1 means `d` is better."""
    if d is None or x is None or not (d.ok and x.ok) or not d.value or not x.value:
        return None
    return d.value / x.value if d.higher_is_better else x.value / d.value


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return " | ".join(out).rstrip()

    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def render(
    runs: list[ServerRun],
    order: list[tuple[str, str, str]],
    header_lines: list[str],
) -> str:
    """`order` is (key, group, title) for every workload, in run order; a column per run,
    and with two runs the ratio of the first to the second."""
    cols = runs
    pair = len(cols) == 2
    notes: list[str] = []
    failure_note: dict[str, int] = {}  # identical failures (e.g. no start) share one note

    def cell(run: ServerRun, res: Result | None) -> str:
        if res is None:
            return "not run"
        if not res.ok:
            if run.start_error is not None:
                text = f"{run.label} did not start: {run.start_error}"
            else:
                text = f"{run.label}, {res.title}: FAILED: {res.error}"
            if text not in failure_note:
                notes.append(text)
                failure_note[text] = len(notes)
            return f"FAILED [{failure_note[text]}]"
        text = fmt_value(res)
        if res.note:
            notes.append(f"{run.label}, {res.title}: {res.note}")
            text += f" [{len(notes)}]"
        return text

    headers = ["#", "workload"]
    for r in cols:
        headers.append(r.label)
    if pair:
        headers.append("ratio")
    headers += [f"RSS {r.label}" for r in cols]
    rows: list[list[str]] = []
    for key, group, title in order:
        row = [group, title]
        for r in cols:
            row.append(cell(r, r.results.get(key)))
        if pair:
            q = ratio(cols[0].results.get(key), cols[1].results.get(key))
            row.append("-" if q is None else f"{q:.2f}x")
        for r in cols:
            res = r.results.get(key)
            row.append(fmt_mib(res.peak_rss if res else None))
        rows.append(row)
        details = [(r.results[key].detail if key in r.results and r.results[key].ok else "")
                   for r in cols]  # fmt: skip
        if any(details):
            rows.append(["", "", *details] + [""] * (len(headers) - 2 - len(details)))
    right = {i for i in range(2, len(headers))}
    out = [*header_lines, "", _table(headers, rows, right)]

    # Server facts.
    facts_h = ["server", "version", "start-up", "idle RSS", "exit code after SIGTERM"]
    facts = []
    for r in cols:
        facts.append(
            [
                r.label,
                r.version,
                "-" if r.startup_s is None else f"{r.startup_s:.2f} s",
                fmt_mib(r.idle_rss),
                "-" if r.exit_code is None else str(r.exit_code),
            ]
        )
    out += ["", _table(facts_h, facts, set())]

    # CPU during the timed phase.
    cpu_h = ["workload", *[f"{r.label}: server / client / other" for r in cols]]
    cpu_rows = []
    disturbed: list[str] = []
    for key, _group, title in order:
        row = [title]
        for r in cols:
            res = r.results.get(key)
            if res is None or not res.wall_s or res.server_cpu_s is None:
                row.append("-")
            elif res.wall_s < 0.1:
                row.append(f"n/a ({res.wall_s * 1e3:.0f} ms: too short to sample)")
            else:
                s = 100 * res.server_cpu_s / res.wall_s
                c = 100 * (res.client_cpu_s or 0.0) / res.wall_s
                o = 100 * (res.other_cpu_s or 0.0) / res.wall_s
                tries = f" ({res.attempts} tries)" if res.attempts > 1 else ""
                row.append(f"{s:4.0f}% / {c:4.0f}% / {o:4.0f}%{tries}")
                if o >= 20:
                    disturbed.append(f"{r.label}: {title} ({o:.0f}%)")
        cpu_rows.append(row)
    out += [
        "",
        "CPU during each timed phase, % of one core (200% = both cores). server = the registry's",
        "process tree; client = this bench; other = every other process on the machine. A client",
        "near 100% means the bench, not the server, limited the figure; a large 'other' means",
        "something else was competing for the two cores and the figure is disturbed; such a",
        "workload is rerun (--retries) and the least disturbed run is kept ('N tries').",
        _table(cpu_h, cpu_rows, set(range(1, len(cpu_h)))),
    ]
    if disturbed:
        out.append("WARNING: other processes used >= 20% of a core during: " + "; ".join(disturbed))
    for r in cols:
        if r.start_error and not r.results:
            notes.append(f"{r.label} did not start: {r.start_error}")
        for n in r.notes:
            notes.append(f"{r.label}: {n}")
    if notes:
        out += ["", "Notes:"]
        out += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out)
