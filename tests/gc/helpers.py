"""Helpers for the GC tests: what is on disk, what ``dockyard gc`` and ``usage`` say."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.lifecycle import dockyard, table_rows

_SUMMARY = re.compile(
    r"(?P<verb>freed|would free) (?P<blobs>\d+) blobs, (?P<bytes>\d+) bytes; "
    r"dropped (?P<links>\d+) stale repository links; expired (?P<uploads>\d+) uploads; "
    r"removed (?P<orphans>\d+) orphaned files"
)


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    blobs: int
    bytes: int
    links: int
    uploads: int
    orphans: int
    digests: frozenset[str]


def run_gc(data_dir: Path, *args: str) -> GcReport:
    """``dockyard gc ARGS`` beside the running server, its report parsed."""
    out = dockyard(data_dir, "gc", *args).stdout
    found = _SUMMARY.search(out)
    assert found, f"no summary line in:\n{out}"
    digests = frozenset(
        line.strip() for line in out.splitlines() if line.strip().startswith("sha256:")
    )
    report = GcReport(
        dry_run=found["verb"] == "would free",
        blobs=int(found["blobs"]),
        bytes=int(found["bytes"]),
        links=int(found["links"]),
        uploads=int(found["uploads"]),
        orphans=int(found["orphans"]),
        digests=digests,
    )
    assert len(report.digests) == report.blobs, out
    return report


def blob_files(data_dir: Path) -> dict[str, int]:
    """digest -> size of every blob file under ``<data-dir>/storage/blobs``."""
    root = data_dir / "storage" / "blobs"
    return {
        f"{path.parent.parent.name}:{path.name}": path.stat().st_size
        for path in root.glob("*/??/*")
        if not path.name.startswith(".")
    }


def upload_files(data_dir: Path) -> dict[str, int]:
    """upload id -> size of every file under ``<data-dir>/storage/uploads``."""
    root = data_dir / "storage" / "uploads"
    return {path.name: path.stat().st_size for path in root.iterdir() if path.is_file()}


def usage(data_dir: Path) -> dict[str, int]:
    """``dockyard usage``: repository -> bytes it holds."""
    rows = table_rows(dockyard(data_dir, "usage").stdout)
    return {row[0]: int(row[1].replace(",", "")) for row in rows}
