"""`python -m bench.scan`: how long a BASIC scan of a ~50 MB Debian image takes, and the
server's memory meanwhile.

The image is real: the files of a Debian bookworm ``--variant=minbase``-like set of packages
(``apt-get download``, cached under ``~/.cache/dockyard-bench/``) unpacked into one layer from
their ``data.tar`` (``dpkg-deb --fsys-tarfile``) with the dpkg status made from their control
fields and this machine's os-release, plus a layer of old PyPI releases (``pip install
--no-deps --target``). perl (4 binary packages) is pinned to 5.36.0-7+deb12u3 and openssl
(2 binary packages) to 3.0.17-1~deb12u2, so the scan has real findings to report.

The full vulnerability data (``tests/data/vulndb/osv-pypi.zip`` and
``osv-debian12.zip``) is imported with ``dockyard vulndb import``. The image is pushed as
``--runs`` distinct manifests over the same layers (BASIC allows one StartImageScan per image
per day), and each is scanned once with StartImageScan.

Figures:

* **server-side scan time**: the scan job's ``finished_at - started_at`` from the server's
  job table (inventory + matching + storing the findings, without waiting for the job loop);
* **wall clock**: StartImageScan until DescribeImageScanFindings says COMPLETE (polled every
  20 ms), which adds up to one job-loop poll (1 s) of queueing;
* **peak RSS** of the server's process tree, sampled every 10 ms during each scan, against
  its RSS just before; the bound checked is a growth below 128 MiB, and below half of the
  image's uncompressed size (so it cannot hold the layer in memory).

The goal (issue 5): under 5 s per scan (best of the runs, server-side) and bounded RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from .servers import (
    REPO_ROOT,
    DockyardSpec,
    ResourceSampler,
    cleanup,
    start_server,
    stop_server,
)

MiB = 1 << 20
VULNDB = REPO_ROOT / "tests" / "data" / "vulndb"  # kept in the checkout
DATA = (VULNDB / "osv-pypi.zip", VULNDB / "osv-debian12.zip")
GOAL_SECONDS = 5.0
RSS_GROWTH_BOUND = 128 * MiB

# Debian bookworm, what `debootstrap --variant=minbase bookworm` installs (Priority: required
# and what it depends on), plus openssl and the rest of perl. Versions: the pinned ones below
# (bookworm's point-release versions that the Debian data has fixes for), else what apt offers
# here on the first run (then cached).
# fmt: off
PACKAGES = [
    "adduser", "apt", "base-files", "base-passwd", "bash", "bsdutils", "coreutils", "dash",
    "debconf", "debian-archive-keyring", "debianutils", "diffutils", "dpkg", "e2fsprogs",
    "findutils", "gcc-12-base", "gpgv", "grep", "gzip", "hostname", "init-system-helpers",
    "libacl1", "libapt-pkg6.0", "libattr1", "libaudit-common", "libaudit1", "libblkid1",
    "libbz2-1.0", "libc-bin", "libc6", "libcap-ng0", "libcap2", "libcom-err2", "libcrypt1",
    "libdb5.3", "libdebconfclient0", "libext2fs2", "libffi8", "libgcc-s1", "libgcrypt20",
    "libgdbm-compat4", "libgdbm6", "libgmp10", "libgnutls30", "libgpg-error0", "libhogweed6",
    "libidn2-0", "liblz4-1", "liblzma5", "libmd0", "libmount1", "libnettle8", "libp11-kit0",
    "libpam-modules", "libpam-modules-bin", "libpam-runtime", "libpam0g", "libpcre2-8-0",
    "libperl5.36", "libseccomp2", "libselinux1", "libsemanage-common", "libsemanage2", "libsepol2",
    "libsmartcols1", "libss2", "libssl3", "libstdc++6", "libsystemd0", "libtasn1-6", "libtinfo6",
    "libudev1", "libunistring2", "libuuid1", "libxxhash0", "libzstd1", "login", "logsave", "mawk",
    "mount", "ncurses-base", "ncurses-bin", "openssl", "passwd", "perl", "perl-base",
    "perl-modules-5.36", "sed", "sysvinit-utils", "tar", "tzdata", "usr-is-merged", "util-linux",
    "util-linux-extra", "zlib1g",
]
# fmt: on
PINNED = {
    "perl": "5.36.0-7+deb12u3",
    "perl-base": "5.36.0-7+deb12u3",
    "perl-modules-5.36": "5.36.0-7+deb12u3",
    "libperl5.36": "5.36.0-7+deb12u3",
    "libssl3": "3.0.17-1~deb12u2",
    "openssl": "3.0.17-1~deb12u2",
    "libpcre2-8-0": "10.42-1",
}
PYPI = ("requests==2.19.1", "urllib3==1.24.1", "jinja2==2.10")
SITE = "usr/local/lib/python3.11/site-packages"
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


# /v2 is open (--insecure-no-auth, as the other benchmarks run it); the ECR API still checks
# SigV4, so the server gets known root keys.
ROOT_KEY_ID = "AKIADOCKYARDBENCHSCAN"
ROOT_SECRET = "dockyard-bench-scan-secret-0123456789abc"


class BenchSpec(DockyardSpec):
    def env(self) -> dict[str, str]:
        return super().env() | {
            "DOCKYARD_ROOT_ACCESS_KEY_ID": ROOT_KEY_ID,
            "DOCKYARD_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        }


def cache_dir(*parts: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base.joinpath("dockyard-bench", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(message: str) -> None:
    print(message, flush=True)


# --- the image ------------------------------------------------------------------------------


def _cached_deb(directory: Path, name: str, version: str | None) -> Path | None:
    stem = f"{name}_{version.replace(':', '%3a')}_" if version else f"{name}_"
    found = sorted(p for p in directory.glob("*.deb") if p.name.startswith(stem))
    return found[0] if found else None


def fetch_debs() -> list[Path]:
    target = cache_dir("debs")
    missing = [
        f"{n}={PINNED[n]}" if n in PINNED else n
        for n in PACKAGES
        if _cached_deb(target, n, PINNED.get(n)) is None
    ]
    if missing:
        say(f"apt-get download of {len(missing)} packages into {target} ...")
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            command = ["apt-get", "download", *missing]
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0 and os.geteuid() == 0:
                subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
                done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"apt-get download failed:\n{done.stderr}")
            for deb in Path(tmp).glob("*.deb"):
                deb.replace(target / deb.name)
    debs = []
    for name in PACKAGES:
        path = _cached_deb(target, name, PINNED.get(name))
        if path is None:
            raise SystemExit(f"no .deb for {name} after apt-get download")
        debs.append(path)
    return debs


def control(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")


def status_paragraph(fields: str) -> str:
    lines = fields.splitlines()
    return "\n".join([lines[0], "Status: install ok installed", *lines[1:]]) + "\n"


def _dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
    tar.addfile(info)


def _file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def build_debian_layer(debs: list[Path]) -> Path:
    """The root filesystem as one gzip layer (cached by the exact set of .deb files)."""
    key = hashlib.sha256("\n".join(sorted(d.name for d in debs)).encode()).hexdigest()[:16]
    final = cache_dir("layers") / f"debian-{key}.tar.gz"
    if final.is_file():
        return final
    say(f"building the Debian layer from {len(debs)} packages ...")
    partial = final.with_suffix(".partial")
    with (
        gzip.open(partial, "wb", compresslevel=6) as out,
        tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for deb in debs:
            data = subprocess.run(
                ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(data)) as src:
                for member in src:
                    if member.name in (".", "./"):
                        continue
                    tar.addfile(member, src.extractfile(member) if member.isfile() else None)
        _dir(tar, "etc")
        os_release = Path("/etc/os-release").resolve().read_bytes()
        _file(tar, "usr/lib/os-release", os_release)
        status = "\n".join(status_paragraph(control(d)) for d in debs).encode()
        for d in ("var", "var/lib", "var/lib/dpkg"):
            _dir(tar, d)
        _file(tar, "var/lib/dpkg/status", status)
    partial.replace(final)
    return final


def build_python_layer() -> Path:
    key = hashlib.sha256("\n".join(PYPI).encode()).hexdigest()[:16]
    final = cache_dir("layers") / f"python-{key}.tar.gz"
    if final.is_file():
        return final
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        args = ["--no-deps", "--no-compile", "--disable-pip-version-check", "-q"]
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", *args, "--target", str(site), *PYPI],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"pip install failed:\n{done.stderr}")
        partial = final.with_suffix(".partial")
        with (
            gzip.open(partial, "wb", compresslevel=6) as out,
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            for path in sorted(site.rglob("*")):
                name = f"{SITE}/{path.relative_to(site).as_posix()}"
                if path.is_dir():
                    _dir(tar, name)
                elif path.is_file():
                    _file(tar, name, path.read_bytes())
        partial.replace(final)
    return final


@dataclass(frozen=True)
class Layer:
    path: Path
    digest: str
    size: int
    diff_id: str
    uncompressed: int


def describe_layer(path: Path) -> Layer:
    packed, unpacked = hashlib.sha256(), hashlib.sha256()
    size = raw = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            packed.update(chunk)
            size += len(chunk)
    with gzip.open(path, "rb") as g:
        for chunk in iter(lambda: g.read(MiB), b""):
            unpacked.update(chunk)
            raw += len(chunk)
    return Layer(path, f"sha256:{packed.hexdigest()}", size, f"sha256:{unpacked.hexdigest()}", raw)


def config_and_manifest(layers: list[Layer], run: int) -> tuple[bytes, bytes]:
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"bench.run": str(run)}},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {"mediaType": GZIP, "digest": layer.digest, "size": layer.size} for layer in layers
            ],
        },
        sort_keys=True,
    ).encode()
    return config, manifest


# --- the registry ----------------------------------------------------------------------------


def push_blob(http: httpx.Client, repo: str, digest: str, body: Any) -> None:
    if http.head(f"/v2/{repo}/blobs/{digest}").status_code == 200:
        return
    started = http.post(f"/v2/{repo}/blobs/uploads/")
    started.raise_for_status()
    location = started.headers["Location"]
    sep = "&" if "?" in location else "?"
    done = http.put(
        f"{location}{sep}digest={digest}",
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )
    done.raise_for_status()


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            yield chunk


def push_image(http: httpx.Client, repo: str, layers: list[Layer], run: int) -> str:
    for layer in layers:
        push_blob(http, repo, layer.digest, file_chunks(layer.path))
    config, manifest = config_and_manifest(layers, run)
    push_blob(http, repo, "sha256:" + hashlib.sha256(config).hexdigest(), config)
    put = http.put(
        f"/v2/{repo}/manifests/run-{run}",
        content=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    put.raise_for_status()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def import_vulndb(data_dir: Path) -> None:
    command = [sys.executable, "-m", "dockyard", "vulndb", "import", *map(str, DATA)]
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=DockyardSpec().env(),
    )
    if done.returncode != 0:
        raise SystemExit(f"vulndb import failed:\n{done.stdout}\n{done.stderr}")
    say(" ".join(done.stdout.split()))


def job_times(data_dir: Path, digest: str) -> tuple[float, float]:
    """The newest scan job of ``digest``: (seconds queued, seconds running), from the job
    table's created_at, started_at and finished_at."""
    database = f"file:{data_dir}/metadata.db?mode=ro"
    with contextlib.closing(sqlite3.connect(database, uri=True)) as db:
        rows = db.execute(
            "SELECT payload, created_at, started_at, finished_at FROM jobs "
            "WHERE kind = 'scan-image' ORDER BY id DESC"
        ).fetchall()
    for payload, created, started, finished in rows:
        if json.loads(payload).get("digest") == digest and started and finished:
            begun = datetime.fromisoformat(started)
            queued = begun - datetime.fromisoformat(created)
            running = datetime.fromisoformat(finished) - begun
            return queued.total_seconds(), running.total_seconds()
    raise RuntimeError(f"no finished scan job for {digest}")


@dataclass
class Run:
    queued_seconds: float
    server_seconds: float
    wall_seconds: float
    rss_before: int
    rss_peak: int
    findings: int
    counts: dict[str, int]


def scan_once(ecr: Any, srv: Any, repo: str, digest: str) -> Run:
    image_id = {"imageDigest": digest}
    rss_before = srv.tree_rss()
    with ResourceSampler(srv.proc.pid, interval=0.01) as sampler:
        t0 = time.perf_counter()
        started = ecr.start_image_scan(repositoryName=repo, imageId=image_id)
        assert started["imageScanStatus"]["status"] == "IN_PROGRESS", started
        while True:
            got = ecr.describe_image_scan_findings(
                repositoryName=repo, imageId=image_id, maxResults=1000
            )
            status = got["imageScanStatus"]["status"]
            if status != "IN_PROGRESS":
                break
            if time.perf_counter() - t0 > 300:
                raise SystemExit("the scan did not finish in 300 s")
            time.sleep(0.02)
        wall = time.perf_counter() - t0
    if status != "COMPLETE":
        raise SystemExit(f"scan ended {status}: {got['imageScanStatus']}")
    queued_seconds, server_seconds = job_times(srv.data_dir, digest)
    findings = got["imageScanFindings"]
    count = len(findings["findings"])
    token = got.get("nextToken")
    while token:
        more = ecr.describe_image_scan_findings(
            repositoryName=repo, imageId=image_id, maxResults=1000, nextToken=token
        )
        count += len(more["imageScanFindings"]["findings"])
        token = more.get("nextToken")
    return Run(
        queued_seconds,
        server_seconds,
        wall,
        rss_before,
        sampler.usage.peak_rss,
        count,
        dict(findings["findingSeverityCounts"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scan", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3, help="scans (best of); default 3")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the data dir goes")
    parser.add_argument("--keep", action="store_true", help="keep the server's data dir")
    args = parser.parse_args(argv)

    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed to build the image")
    layers = [
        describe_layer(build_debian_layer(fetch_debs())),
        describe_layer(build_python_layer()),
    ]
    packed = sum(layer.size for layer in layers)
    unpacked = sum(layer.uncompressed for layer in layers)
    say(
        f"image: {len(PACKAGES)} Debian packages + {len(PYPI)} PyPI releases, {len(layers)} "
        f"layers, {packed / MiB:.1f} MiB compressed, {unpacked / MiB:.1f} MiB uncompressed"
    )

    srv = start_server(BenchSpec(), args.tmp_dir)
    runs: list[Run] = []
    try:
        import_vulndb(srv.data_dir)
        ecr = boto3.session.Session(
            aws_access_key_id=ROOT_KEY_ID,
            aws_secret_access_key=ROOT_SECRET,
            region_name="us-east-1",
        ).client(
            "ecr",
            endpoint_url=srv.base_url,
            config=Config(retries={"max_attempts": 1}, read_timeout=300),
        )
        repo = "bench/debian"
        ecr.create_repository(repositoryName=repo)
        with httpx.Client(base_url=srv.base_url, timeout=300) as http:
            digests = [push_image(http, repo, layers, run) for run in range(args.runs)]
        time.sleep(1.5)  # let the push settle (nothing is queued: the repository is MANUAL)
        for index, digest in enumerate(digests):
            run = scan_once(ecr, srv, repo, digest)
            runs.append(run)
            say(
                f"run {index + 1}: server-side {run.server_seconds:.2f} s (queued "
                f"{run.queued_seconds:.2f} s before), wall clock {run.wall_seconds:.2f} s, "
                f"RSS {run.rss_before / MiB:.0f} -> peak {run.rss_peak / MiB:.0f} MiB, "
                f"{run.findings} findings {run.counts}"
            )
    finally:
        stop_server(srv)
        if srv.exit_code not in (0, None):
            say(f"server exit code after SIGTERM: {srv.exit_code}\n{srv.log_tail()}")
        cleanup(srv, keep=args.keep)

    best = min(r.server_seconds for r in runs)
    best_wall = min(r.wall_seconds for r in runs)
    growth = max(r.rss_peak - r.rss_before for r in runs)
    peak = max(r.rss_peak for r in runs)
    bound = min(RSS_GROWTH_BOUND, unpacked // 2)
    fast = best < GOAL_SECONDS
    bounded = growth < bound
    say("")
    say(f"scan time (best of {len(runs)}, server-side job time): {best:.2f} s "
        f"-> {'meets' if fast else 'MISSES'} the < {GOAL_SECONDS:.0f} s goal "
        f"(wall clock best {best_wall:.2f} s, with up to 1 s of job-loop polling)")  # fmt: skip
    say(f"server peak RSS: {peak / MiB:.0f} MiB, growth during a scan at most "
        f"{growth / MiB:.0f} MiB -> {'bounded' if bounded else 'NOT bounded'} (bound: growth "
        f"< {bound / MiB:.0f} MiB = min(128 MiB, half the image's "
        f"{unpacked / MiB:.0f} MiB uncompressed))")  # fmt: skip
    return 0 if fast and bounded else 1


if __name__ == "__main__":
    raise SystemExit(main())
