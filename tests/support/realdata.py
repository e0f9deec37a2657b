"""Real package data for the scanning tests, fetched once and cached across runs.

* ``.deb`` files from Debian's archive (``apt-get download``), whose control fields become a
  real dpkg status file;
* old PyPI releases installed with ``pip install --no-deps --target``;
* npm package tarballs (``npm pack``), whose ``package.json`` go into a ``node_modules``.

Everything lands under ``${XDG_CACHE_HOME:-~/.cache}/dockyard-tests/``, so only the first run
needs the registries. A fetch that fails fails the test with the tool's output: these tests
are about real data and are never skipped.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tools import ToolError, require_tool, run

# Real Debian bookworm packages (binary=version), as a minbase system of the era installs them,
# plus one whose Source field carries its own version (a binNMU) and one with an epoch.
DEBS = {
    "perl-base": "5.36.0-7+deb12u3",
    "libssl3": "3.0.17-1~deb12u2",
    "openssl": "3.0.17-1~deb12u2",
    "libpcre2-8-0": "10.42-1",
    "zlib1g": "1:1.2.13.dfsg-1",
    "libidn2-0": "2.3.3-1+b1",
}
PYPI_RELEASES = ("requests==2.19.1", "urllib3==1.24.1", "jinja2==2.10")
NPM_PACKAGES = ("lodash@4.17.20", "minimist@1.2.5", "@isaacs/string-locale-compare@1.1.0")


def cache_dir(*parts: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base.joinpath("dockyard-tests", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fail(what: str, exc: Exception) -> None:
    pytest.fail(
        f"could not fetch {what} (does this machine reach the package registries?):\n{exc}",
        pytrace=False,
    )


# --- Debian -----------------------------------------------------------------------------------


def fetch_debs(packages: dict[str, str] = DEBS) -> dict[str, Path]:
    """``apt-get download`` each ``name=version`` once; the cached ``.deb`` paths by name."""
    target = cache_dir("debs")
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name, version in packages.items():
        path = _cached_deb(target, name, version)
        if path is None:
            missing.append(f"{name}={version}")
        else:
            found[name] = path
    if missing:
        require_tool("apt-get")
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            try:
                _apt_download(missing, Path(tmp))
            except ToolError as exc:
                _fail(f"Debian packages {missing}", exc)
            for deb in Path(tmp).glob("*.deb"):
                deb.replace(target / deb.name)
        for name, version in packages.items():
            path = _cached_deb(target, name, version)
            if path is None:
                pytest.fail(f"apt-get download did not produce {name}={version}", pytrace=False)
            found[name] = path
    return found


def _apt_download(specs: Sequence[str], where: Path) -> None:
    try:
        run(["apt-get", "download", *specs], cwd=where, timeout=300)
    except ToolError:
        # A machine whose package lists were never fetched (or are stale) knows no versions.
        if os.geteuid() != 0:
            raise
        run(["apt-get", "update", "-qq"], timeout=300)
        run(["apt-get", "download", *specs], cwd=where, timeout=300)


def _cached_deb(directory: Path, name: str, version: str) -> Path | None:
    # apt-get names files name_version_arch.deb with the epoch colon as %3a.
    stem = f"{name}_{version.replace(':', '%3a')}_"
    for path in directory.glob("*.deb"):
        if path.name.startswith(stem):
            return path
    return None


def deb_control(deb: Path) -> str:
    """The control paragraph of a .deb (``dpkg-deb -f``), without its trailing newline."""
    require_tool("dpkg-deb")
    return run(["dpkg-deb", "-f", deb]).stdout.rstrip("\n")


def dpkg_status_paragraph(control: str, status: str = "install ok installed") -> str:
    """A dpkg status paragraph: the control fields with ``Status:`` after ``Package:``, as dpkg
    writes it."""
    lines = control.splitlines()
    assert lines[0].startswith("Package: "), lines[0]
    return "\n".join([lines[0], f"Status: {status}", *lines[1:]]) + "\n"


def os_release_of_this_machine() -> bytes:
    data = Path("/etc/os-release").read_bytes()
    text = data.decode()
    if 'VERSION_ID="12"' not in text or "ID=debian" not in text:
        pytest.fail("these tests use this machine's /etc/os-release, expected Debian 12", False)
    return data


# --- PyPI -------------------------------------------------------------------------------------


def pip_target(requirements: Sequence[str] = PYPI_RELEASES) -> Path:
    """A directory holding ``pip install --no-deps --target`` of ``requirements``, cached."""
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    final = cache_dir("pip-target") / key
    if final.is_dir():
        return final
    with tempfile.TemporaryDirectory(dir=final.parent) as tmp:
        staged = Path(tmp) / "site"
        args = ["--no-deps", "--no-compile", "--disable-pip-version-check", "-q"]
        try:
            run(["python", "-m", "pip", "install", *args, "--target", staged, *requirements])
        except ToolError as exc:
            _fail(f"PyPI releases {list(requirements)}", exc)
        staged.replace(final)
    return final


# --- npm --------------------------------------------------------------------------------------


def npm_package_jsons(packages: Sequence[str] = NPM_PACKAGES) -> dict[str, bytes]:
    """The real ``package.json`` of each ``npm pack``-ed package, by package name."""
    target = cache_dir("npm")
    tarballs = {spec: target / _npm_tarball_name(spec) for spec in packages}
    missing = [spec for spec, path in tarballs.items() if not path.is_file()]
    if missing:
        require_tool("npm")
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            try:
                run(["npm", "pack", "--silent", "--pack-destination", tmp, *missing], cwd=Path(tmp))
            except ToolError as exc:
                _fail(f"npm packages {missing}", exc)
            for tgz in Path(tmp).glob("*.tgz"):
                tgz.replace(target / tgz.name)
    result: dict[str, bytes] = {}
    for path in tarballs.values():
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile("package/package.json")
            assert member is not None
            data = member.read()
        result[json.loads(data)["name"]] = data
    return result


def _npm_tarball_name(spec: str) -> str:
    name, _, version = spec.rpartition("@")
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


# --- layers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One tar member of a test layer: a file (``data``), a directory, or a link."""

    name: str
    data: bytes | None = None
    kind: str = "file"  # file, dir, symlink, hardlink
    target: str = ""

    @staticmethod
    def dir(name: str) -> Entry:
        return Entry(name, kind="dir")

    @staticmethod
    def symlink(name: str, target: str) -> Entry:
        return Entry(name, kind="symlink", target=target)

    @staticmethod
    def hardlink(name: str, target: str) -> Entry:
        return Entry(name, kind="hardlink", target=target)

    @staticmethod
    def whiteout(path: str) -> Entry:
        parent, _, base = path.rpartition("/")
        return Entry(f"{parent}/.wh.{base}" if parent else f".wh.{base}", b"")

    @staticmethod
    def opaque(directory: str) -> Entry:
        return Entry(f"{directory}/.wh..wh..opq", b"")


def tar_bytes(entries: Iterable[Entry], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed layer tar, written the way image builders write them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mtime = 1_700_000_000
            if entry.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif entry.kind in ("symlink", "hardlink"):
                info.type = tarfile.SYMTYPE if entry.kind == "symlink" else tarfile.LNKTYPE
                info.linkname = entry.target
                tar.addfile(info)
            else:
                data = entry.data or b""
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_layer(entries: Iterable[Entry]) -> bytes:
    return gzip.compress(tar_bytes(entries), mtime=0)


def tree_entries(root: Path, prefix: str) -> list[Entry]:
    """Every directory and file beneath ``root``, placed under ``prefix`` in the layer."""
    entries = [Entry.dir(prefix)]
    for path in sorted(root.rglob("*")):
        name = f"{prefix}/{path.relative_to(root).as_posix()}"
        if path.is_dir():
            entries.append(Entry.dir(name))
        elif path.is_file():
            entries.append(Entry(name, path.read_bytes()))
    return entries


def write_gzip_bomb(path: Path, *, zero_bytes: int = 2 << 30, member: str = "zeros") -> int:
    """A valid ``tar+gzip`` layer whose one member is ``zero_bytes`` of zeros (a multiple of
    1 MiB), written in O(1 MiB) memory. A deflate block ended by a full flush does not depend
    on what came before it, so one compressed MiB of zeros is written again and again.
    Returns the size of the compressed file."""
    chunk = 1 << 20
    assert zero_bytes % chunk == 0
    info = tarfile.TarInfo(member)
    info.size, info.mtime, info.mode = zero_bytes, 1_700_000_000, 0o644
    header = info.tobuf(tarfile.GNU_FORMAT)
    trailer = bytes(2 * tarfile.BLOCKSIZE)  # the end-of-archive blocks (size is 512-aligned)
    zeros = bytes(chunk)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = zlib.crc32(header)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip header, no name
        out.write(deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH))
        block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
        for _ in range(zero_bytes // chunk):
            out.write(block)
            crc = zlib.crc32(zeros, crc)
        out.write(deflate.compress(trailer) + deflate.flush(zlib.Z_FINISH))
        crc = zlib.crc32(trailer, crc)
        total = len(header) + zero_bytes + len(trailer)
        out.write(crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little"))
        return out.tell()


def write_oci_layout(directory: Path, layers: Sequence[tuple[str, Path]]) -> Path:
    """An OCI image layout (``oci-dir``) of one linux/amd64 image with these gzip layers."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    descriptors, diff_ids = [], []
    for media_type, path in layers:
        data = path.read_bytes()
        descriptors.append({"mediaType": media_type, "digest": put(data), "size": len(data)})
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return directory
