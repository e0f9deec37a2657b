"""Real images, an independent oracle of what they should contain, and ECR scan helpers.

Images are made of real data (``tests.support.realdata``): the files of real Debian ``.deb``
packages (their ``data.tar`` as ``dpkg-deb --fsys-tarfile`` gives it) with a dpkg status
assembled from their control fields, old PyPI releases installed with ``pip --target``, and
real npm ``package.json`` files.

The oracle reads the OSV zips itself and evaluates each record's ranges with ``packaging``
(PEP 440) and ``python-debian`` (dpkg order) following the OSV schema's own pseudo-code, so
that the expected findings do not come from Dockyard's matcher.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from debian.debian_support import Version as DebVersion
from packageurl import PackageURL
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion
from packaging.version import Version as PyVersion

from tests.support.images import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    Blob,
    Image,
    ImageIndex,
    make_config,
    make_index,
    make_manifest,
    sha256_digest,
)
from tests.support.osvdata import DEBIAN_ZIP, PYPI_ZIP
from tests.support.realdata import (
    Entry,
    deb_control,
    dpkg_status_paragraph,
    os_release_of_this_machine,
    tar_bytes,
)
from tests.support.tools import require_tool

DEBIAN = "Debian:12"
SITE = "usr/local/lib/python3.11/site-packages"
DPKG_STATUS = "var/lib/dpkg/status"
PERL_FIX = "5.36.0-7+deb12u4"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


# --- what an image holds ----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Pkg:
    """An installed package as the oracle sees it (what an SBOM lists, what findings name)."""

    ecosystem: str  # "Debian:12", "PyPI", "npm"
    name: str  # binary package name; PEP 503-normalised for PyPI
    version: str
    source: str | None = None  # Debian source package
    source_version: str | None = None
    arch: str | None = None

    @property
    def purl(self) -> str:
        if self.ecosystem == DEBIAN:
            qualifiers = {"arch": self.arch or "amd64", "distro": "debian-12"}
            return PackageURL("deb", "debian", self.name, self.version, qualifiers).to_string()
        kind = {"PyPI": "pypi", "npm": "npm"}[self.ecosystem]
        namespace, _, name = self.name.rpartition("/")
        return PackageURL(kind, namespace or None, name, self.version).to_string()


def deb_pkg(deb: Path) -> Pkg:
    """The dpkg view of a ``.deb``: name, version, source (name and version), architecture."""
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", deb_control(deb), re.M))
    version = fields["Version"]
    source, source_version = fields["Package"], version
    if "Source" in fields:
        found = re.fullmatch(r"(\S+)(?: \((.+)\))?", fields["Source"].strip())
        assert found, fields["Source"]
        source = found.group(1)
        source_version = found.group(2) or version
    return Pkg(DEBIAN, fields["Package"], version, source, source_version, fields["Architecture"])


def pypi_pkg(name: str, version: str) -> Pkg:
    return Pkg("PyPI", canonicalize_name(name), version)


# --- layers -----------------------------------------------------------------------------------


def gz_blob(tar: bytes) -> Blob:
    return Blob(OCI_LAYER_GZIP, gzip.compress(tar, compresslevel=6, mtime=0), sha256_digest(tar))


def os_release_entries() -> list[Entry]:
    """Debian 12's os-release where Debian puts it (``etc/os-release`` a relative symlink)."""
    return [
        Entry.dir("etc"),
        Entry.symlink("etc/os-release", "../usr/lib/os-release"),
        Entry.dir("usr"),
        Entry.dir("usr/lib"),
        Entry("usr/lib/os-release", os_release_of_this_machine()),
    ]


@functools.cache
def _fsys_tar(deb: Path) -> bytes:
    """The ``data.tar`` of a ``.deb`` (``dpkg-deb --fsys-tarfile``), uncompressed."""
    done = subprocess.run(
        [require_tool("dpkg-deb"), "--fsys-tarfile", str(deb)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def debian_tar(
    debs: Sequence[Path],
    *,
    with_os_release: bool = True,
    with_files: bool = True,
    removed: Iterable[Path] = (),
) -> bytes:
    """A root filesystem layer: the packages' own files (as ``dpkg -i`` would leave them) and
    a dpkg status listing them installed. ``removed`` debs appear as ``apt-get remove`` leaves
    them: ``deinstall ok config-files``, files gone."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if with_os_release:
            with tarfile.open(fileobj=io.BytesIO(tar_bytes(os_release_entries()))) as base:
                for member in base.getmembers():
                    tar.addfile(member, base.extractfile(member) if member.isfile() else None)
        if with_files:
            for deb in debs:
                with tarfile.open(fileobj=io.BytesIO(_fsys_tar(deb))) as data:
                    for member in data.getmembers():
                        if member.name in (".", "./"):
                            continue
                        payload = data.extractfile(member) if member.isfile() else None
                        tar.addfile(member, payload)
        paragraphs = [dpkg_status_paragraph(deb_control(deb)) for deb in debs]
        paragraphs += [
            dpkg_status_paragraph(deb_control(deb), "deinstall ok config-files") for deb in removed
        ]
        status = "\n".join(paragraphs).encode()
        for directory in ("var", "var/lib", "var/lib/dpkg"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tar.addfile(info)
        info = tarfile.TarInfo(DPKG_STATUS)
        info.size, info.mode, info.mtime = len(status), 0o644, 1_700_000_000
        tar.addfile(info, io.BytesIO(status))
    return out.getvalue()


def image_of(layers: Sequence[Blob], arch: str = "amd64") -> Image:
    """A linux/``arch`` OCI image of these layers (its manifest remembers the platform)."""
    config = make_config(layers, architecture=arch, media_type=OCI_CONFIG)
    manifest = make_manifest(config, layers, platform={"architecture": arch, "os": "linux"})
    return Image(config=config, layers=tuple(layers), manifest=manifest)


def index_of(images: Sequence[Image]) -> ImageIndex:
    return ImageIndex(index=make_index([i.manifest for i in images]), images=tuple(images))


# --- the oracle -------------------------------------------------------------------------------


@functools.cache
def osv_records(path: Path) -> tuple[dict[str, Any], ...]:
    with zipfile.ZipFile(path) as z:
        return tuple(json.loads(z.read(n)) for n in z.namelist() if n.endswith(".json"))


def finding_name(record: dict[str, Any]) -> str:
    """ECR names a finding by its CVE: the record's id, an alias or an upstream id; else the
    record's id."""
    for candidate in (record["id"], *record.get("aliases", []), *record.get("upstream", [])):
        if candidate.startswith("CVE-"):
            return str(candidate)
    return str(record["id"])


def _key(ecosystem: str, text: str) -> Any:
    if ecosystem == DEBIAN:
        return DebVersion(text)
    return PyVersion(text)


def _in_range(ecosystem: str, version: str, events: list[dict[str, str]]) -> bool:
    """The OSV schema's evaluation of one ECOSYSTEM range (its pseudo-code, verbatim)."""
    installed = _key(ecosystem, version)

    def order(event: dict[str, str]) -> tuple[int, Any]:
        (kind, value), *_ = event.items()
        if kind == "introduced" and value == "0":
            return (0, None)
        return (1, _key(ecosystem, value))

    try:
        ordered = sorted(events, key=order)
    except (InvalidVersion, ValueError, TypeError):
        return False  # an event version that does not parse: the range is not evaluated
    vulnerable = False
    for event in ordered:
        if "introduced" in event and (
            event["introduced"] == "0" or installed >= _key(ecosystem, event["introduced"])
        ):
            vulnerable = True
        elif "fixed" in event:
            if installed >= _key(ecosystem, event["fixed"]):
                vulnerable = False
        elif "last_affected" in event and installed > _key(ecosystem, event["last_affected"]):
            vulnerable = False
    return vulnerable


def _affects(affected: dict[str, Any], ecosystem: str, version: str) -> bool:
    for listed in affected.get("versions", []):
        try:
            if _key(ecosystem, listed) == _key(ecosystem, version):
                return True
        except (InvalidVersion, ValueError):
            continue
    return any(
        _in_range(ecosystem, version, r["events"])
        for r in affected.get("ranges", [])
        if r["type"] in ("ECOSYSTEM", "SEMVER")
    )


@dataclass(frozen=True, order=True)
class Expected:
    name: str  # the finding's name (CVE id)
    package: str
    version: str
    record: str  # the OSV record's id
    fixed: str | None  # the version of the record's fix for this package, if any


def expected_findings(packages: Iterable[Pkg]) -> list[Expected]:
    """Every (record, package) pair the OSV data says is vulnerable, Debian by source."""
    found = []
    for pkg in packages:
        if pkg.ecosystem == DEBIAN:
            records = osv_records(DEBIAN_ZIP)
            name, version = pkg.source or pkg.name, pkg.source_version or pkg.version
        elif pkg.ecosystem == "PyPI":
            records = osv_records(PYPI_ZIP)
            name, version = pkg.name, pkg.version
        else:
            continue  # no npm data here
        for record in records:
            if record.get("withdrawn"):
                continue
            for affected in record["affected"]:
                package = affected["package"]
                if package["ecosystem"] != pkg.ecosystem:
                    continue
                their = package["name"]
                if pkg.ecosystem == "PyPI":
                    their = canonicalize_name(their)
                if their != name or not _affects(affected, pkg.ecosystem, version):
                    continue
                fixes = [
                    e["fixed"]
                    for r in affected.get("ranges", [])
                    if r["type"] == "ECOSYSTEM"
                    for e in r["events"]
                    if "fixed" in e
                ]
                fixed = min(
                    (f for f in fixes if _key(pkg.ecosystem, f) > _key(pkg.ecosystem, version)),
                    key=lambda f: _key(pkg.ecosystem, f),
                    default=None,
                )
                name_ = finding_name(record)
                found.append(Expected(name_, pkg.name, pkg.version, record["id"], fixed))
                break
    return sorted(found)


def triples(expected: Iterable[Expected]) -> list[tuple[str, str, str]]:
    return sorted((e.name, e.package, e.version) for e in expected)


def perl_cves_fixed_in(version: str = PERL_FIX) -> set[str]:
    """The CVEs of the Debian records whose ``fixed`` event for perl is ``version``."""
    cves = set()
    for record in osv_records(DEBIAN_ZIP):
        for affected in record["affected"]:
            if affected["package"]["name"] != "perl":
                continue
            events = [e for r in affected.get("ranges", []) for e in r["events"]]
            if any(e.get("fixed") == version for e in events):
                cves.add(finding_name(record))
    return cves


# --- ECR scan results -------------------------------------------------------------------------


def attributes(finding: dict[str, Any]) -> dict[str, str]:
    return {a["key"]: a["value"] for a in finding.get("attributes", [])}


def finding_triples(findings: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    out = []
    for f in findings:
        attrs = attributes(f)
        out.append((f["name"], attrs["package_name"], attrs["package_version"]))
    return sorted(out)


def wait_scan(ecr: Any, repo: str, image_id: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    """Poll DescribeImageScanFindings until the scan is no longer IN_PROGRESS."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = ecr.describe_image_scan_findings(repositoryName=repo, imageId=image_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ScanNotFoundException":
                raise
            last = exc.response["Error"]
        else:
            if last["imageScanStatus"]["status"] != "IN_PROGRESS":
                return dict(last)
        time.sleep(0.2)
    raise AssertionError(f"scan of {repo} {image_id} not done after {timeout}s: {last}")


def all_findings(
    ecr: Any, repo: str, image_id: dict[str, str], page: int = 5, key: str = "findings"
) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Every finding, paged with maxResults/nextToken; also the first page and the page count."""
    findings: list[dict[str, Any]] = []
    token: str | None = None
    first: dict[str, Any] | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"repositoryName": repo, "imageId": image_id, "maxResults": page}
        if token:
            params["nextToken"] = token
        got = ecr.describe_image_scan_findings(**params)
        pages += 1
        first = first or got
        batch = got["imageScanFindings"].get(key, [])
        assert len(batch) <= page
        findings += batch
        token = got.get("nextToken")
        if not token:
            break
        assert len(batch) == page, "a page before the last one is short"
    assert first is not None
    return findings, first, pages


def severity_total(counts: dict[str, int]) -> int:
    assert set(counts) <= set(SEVERITIES), counts
    return sum(counts.values())
