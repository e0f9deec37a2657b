"""The package inventory of an image: its layers applied in order, whiteouts included.

:func:`build_inventory` streams every layer once (see :mod:`dockyard.scanning.layers`) and
keeps only the files that name installed software, parsed as they pass by, so memory holds
package records, never a filesystem:

* the OS release (``etc/os-release``, else ``usr/lib/os-release``), which decides the
  ecosystem of the distribution's packages;
* dpkg (``var/lib/dpkg/status`` and the one-package files of ``var/lib/dpkg/status.d/``),
  apk (``lib/apk/db/installed``) and rpm (the sqlite ``rpmdb.sqlite`` under ``var/lib/rpm``
  or ``usr/lib/sysimage/rpm``);
* Python distributions (``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` and single-file
  ``*.egg-info``) and npm packages (``node_modules/[@scope/]name/package.json``).

Ecosystem names are OSV's (``Debian:12``, ``Alpine:v3.20``, ``Rocky Linux:9``, ``PyPI``,
``npm``) and every package carries its purl. A file that cannot be parsed is left out with a
note in :attr:`Inventory.notes`; limits and hostile archives fail the whole scan.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import shlex
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from packageurl import PackageURL

from dockyard.domain.errors import JsonInvalid
from dockyard.domain.jsontext import parse_json
from dockyard.scanning.layers import (
    EntryType,
    ImageBudget,
    LayerEntry,
    ScanLimits,
    check_media_type,
    iter_layer,
)

__all__ = [
    "Inventory",
    "OsRelease",
    "Package",
    "build_inventory",
    "normalize_python_name",
    "os_ecosystem",
]

PYPI = "PyPI"
NPM = "npm"


@dataclass(frozen=True)
class OsRelease:
    """The fields of os-release(5) that identify a distribution release."""

    id: str
    version_id: str | None = None
    version_codename: str | None = None
    name: str | None = None
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()
    path: str = "etc/os-release"
    layer_digest_index: int = 0


@dataclass(frozen=True)
class Package:
    """One installed package.

    ``name`` is what vulnerability data is keyed by: the binary package name for dpkg, apk and
    rpm, the PEP 503 normalised name for PyPI (``Jinja2`` -> ``jinja2``; ``display_name``
    keeps the spelling of the package's metadata), the full ``@scope/name`` for npm.
    ``source_name``/``source_version`` are the source package of a distribution package
    (for dpkg always set: the binary's own name and version when ``Source:`` is absent;
    Debian's vulnerability data is keyed by them) and ``None`` for language packages.
    ``layer_digest_index`` is the index, in the image's layer list, of the layer that last
    wrote the file the package was read from; ``path`` is that file.
    """

    ecosystem: str
    name: str
    version: str
    source_name: str | None
    source_version: str | None
    arch: str | None
    purl: str
    layer_digest_index: int
    path: str
    display_name: str | None = None


@dataclass(frozen=True)
class Inventory:
    os: OsRelease | None
    packages: tuple[Package, ...]
    notes: tuple[str, ...] = field(default=())
    """Files that looked relevant but could not be read, and why."""


def build_inventory(
    layers: Sequence[tuple[str, Callable[[], BinaryIO]]], limits: ScanLimits
) -> Inventory:
    """The inventory of an image whose layers are given bottom first as (media type, opener).

    Each opener is called once, in order, and must return a fresh binary stream of that
    layer's blob as stored (compressed); the stream is closed after use. Raises
    :class:`~dockyard.domain.errors.UnsupportedImage` (before reading anything) when a layer's
    media type is not a filesystem layer, :class:`~dockyard.domain.errors.ScanFailed` when a
    limit is exceeded or a layer is corrupt or hostile.
    """
    for media_type, _ in layers:
        check_media_type(media_type)
    budget = ImageBudget(limits)
    fs = _Filesystem()
    notes: list[str] = []
    for index, (media_type, opener) in enumerate(layers):
        stream = opener()
        try:
            entries = iter_layer(stream, media_type, limits, budget, layer_index=index)
            with closing(entries):
                for entry in entries:
                    fs.apply(entry, index, limits, notes)
        finally:
            stream.close()
    return _assemble(fs, notes)


# --- the kept files ---------------------------------------------------------------------------

_OS = "os-release"
_DPKG = "dpkg"
_DPKG_STATUS_D = "dpkg-status.d"
_APK = "apk"
_RPM = "rpm"
_RPM_UNREADABLE = "rpm-berkeleydb"
_PYTHON = "python"
_NPM = "npm"

_OS_PATHS = ("etc/os-release", "usr/lib/os-release")
_RPM_SQLITE_PATHS = frozenset({"var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"})
_RPM_OTHER_PATHS = frozenset(
    {
        "var/lib/rpm/Packages",
        "var/lib/rpm/Packages.db",
        "usr/lib/sysimage/rpm/Packages",
        "usr/lib/sysimage/rpm/Packages.db",
    }
)


def _classify(path: str) -> str | None:
    """Which kind of inventory file ``path`` is, or None when the scanner does not need it."""
    if path in _OS_PATHS:
        return _OS
    if path == "var/lib/dpkg/status":
        return _DPKG
    parent, _, base = path.rpartition("/")
    if parent == "var/lib/dpkg/status.d" and not base.endswith(".md5sums"):
        return _DPKG_STATUS_D
    if path == "lib/apk/db/installed":
        return _APK
    if path in _RPM_SQLITE_PATHS:
        return _RPM
    if path in _RPM_OTHER_PATHS:
        return _RPM_UNREADABLE
    if base == "METADATA" and parent.endswith(".dist-info"):
        return _PYTHON
    if base == "PKG-INFO" and parent.endswith(".egg-info"):
        return _PYTHON
    if base.endswith(".egg-info") and len(base) > len(".egg-info"):
        return _PYTHON  # a single-file egg-info (distutils installs)
    if base == "package.json":
        parts = path.split("/")
        if len(parts) >= 3 and parts[-3] == "node_modules" and not parts[-2].startswith("@"):
            return _NPM
        if len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@"):
            return _NPM
    return None


@dataclass(frozen=True)
class _Found:
    """A package as read from its file, before the OS release decides its ecosystem."""

    kind: str
    name: str
    version: str
    arch: str | None = None
    source_name: str | None = None
    source_version: str | None = None
    epoch: str | None = None
    rpm_version: str | None = None  # version-release without the epoch, for the rpm purl


@dataclass(frozen=True)
class _Kept:
    layer: int
    kind: str
    os: OsRelease | None = None
    packages: tuple[_Found, ...] = ()


class _Filesystem:
    """The inventory files of the layers applied so far, by path."""

    def __init__(self) -> None:
        self.files: dict[str, _Kept] = {}
        self._dirs: dict[str, int] = {}  # kept files beneath each directory, to prune fast
        self._layer_files: dict[str, _Kept] = {}  # this layer's, for hard links
        self._layer = -1

    def apply(self, entry: LayerEntry, layer: int, limits: ScanLimits, notes: list[str]) -> None:
        if layer != self._layer:
            self._layer, self._layer_files = layer, {}
        path = entry.path
        if entry.type is EntryType.WHITEOUT:
            # A whiteout hides what the lower layers have at `path`, never this layer's files.
            kept = self.files.get(path)
            if kept is not None and kept.layer < layer:
                self._drop(path)
            self._remove_under(path, below=layer)
            return
        if entry.type is EntryType.OPAQUE:
            self._remove_under(path, below=layer)
            return
        # Anything at a path replaces what lower layers (or earlier members) had there; a
        # non-directory also hides whatever a lower layer had beneath it.
        if path in self.files:
            self._drop(path)
        if entry.type is EntryType.DIRECTORY:
            return
        self._remove_under(path, below=layer)
        kind = _classify(path)
        if kind is None:
            return
        kept = None
        if entry.type is EntryType.FILE:
            if kind == _RPM_UNREADABLE:
                notes.append(
                    f"layer {layer}: {path} is an rpm database in the BerkeleyDB/ndb format, "
                    "which the scanner does not read"
                )
                return
            data = entry.read(limits.max_file_bytes)
            kept = _parse(kind, path, data, layer, notes)
        elif entry.type is EntryType.HARDLINK and entry.link_target is not None:
            target = self._layer_files.get(entry.link_target)
            if target is not None and target.kind == kind:
                kept = replace(target, os=_moved(target.os, path))
            else:
                notes.append(f"layer {layer}: {path} is a hard link to an unread file, skipped")
        if kept is not None:
            self._put(path, kept)
            self._layer_files[path] = kept

    def _put(self, path: str, kept: _Kept) -> None:
        if path not in self.files:
            for parent in _parents(path):
                self._dirs[parent] = self._dirs.get(parent, 0) + 1
        self.files[path] = kept

    def _drop(self, path: str) -> None:
        del self.files[path]
        for parent in _parents(path):
            left = self._dirs[parent] - 1
            if left:
                self._dirs[parent] = left
            else:
                del self._dirs[parent]

    def _remove_under(self, directory: str, *, below: int) -> None:
        if directory not in self._dirs:
            return
        prefix = f"{directory}/" if directory else ""
        doomed = [p for p, k in self.files.items() if p.startswith(prefix) and k.layer < below]
        for p in doomed:
            self._drop(p)


def _parents(path: str) -> Iterator[str]:
    """``a/b/c`` -> ``a/b``, ``a``, ``""`` (the root)."""
    while path:
        path = path.rpartition("/")[0]
        yield path


def _moved(os: OsRelease | None, path: str) -> OsRelease | None:
    return replace(os, path=path) if os is not None else None


def _parse(kind: str, path: str, data: bytes, layer: int, notes: list[str]) -> _Kept | None:
    try:
        if kind == _OS:
            os = parse_os_release(data, path=path, layer=layer)
            if os is None:
                notes.append(f"layer {layer}: {path} has no ID, ignored")
                return None
            return _Kept(layer, kind, os=os)
        if kind in (_DPKG, _DPKG_STATUS_D):
            found = parse_dpkg_status(data, require_status=kind == _DPKG)
        elif kind == _APK:
            found = parse_apk_installed(data)
        elif kind == _RPM:
            found = parse_rpmdb_sqlite(data)
        elif kind == _PYTHON:
            found = parse_python_metadata(data)
        else:
            found = parse_package_json(data)
    except (ValueError, UnicodeDecodeError, sqlite3.Error, struct.error) as exc:
        notes.append(f"layer {layer}: {path} could not be parsed ({exc}), skipped")
        return None
    return _Kept(layer, kind, packages=tuple(found))


# --- parsers ----------------------------------------------------------------------------------


def parse_os_release(
    data: bytes, *, path: str = "etc/os-release", layer: int = 0
) -> OsRelease | None:
    """os-release(5): shell-style ``KEY=value`` lines; None without an ``ID``."""
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw, posix=True)
        except ValueError:
            continue
        values[key.strip()] = " ".join(words)
    os_id = values.get("ID", "").strip().lower()
    if not os_id:
        return None
    return OsRelease(
        id=os_id,
        version_id=values.get("VERSION_ID") or None,
        version_codename=values.get("VERSION_CODENAME") or None,
        name=values.get("NAME") or None,
        pretty_name=values.get("PRETTY_NAME") or None,
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        path=path,
        layer_digest_index=layer,
    )


_SOURCE = re.compile(r"^\s*(?P<name>[^\s(]+)\s*(?:\((?P<version>[^)]+)\))?\s*$")


def parse_dpkg_status(data: bytes, *, require_status: bool = True) -> list[_Found]:
    """Installed packages of a dpkg status file (or of one ``status.d`` file).

    A package counts when its ``Status:`` reads ``<want> ok installed`` (``install ok
    installed``, or held); ``config-files``, ``half-installed`` and the like are gone or
    broken. ``status.d`` files (distroless images) carry no ``Status:`` at all, so
    ``require_status=False`` accepts a paragraph without one.
    """
    from debian import deb822  # with charset detection: 5 MiB a worker needs only when scanning

    found: list[_Found] = []
    for para in deb822.Deb822.iter_paragraphs(data.splitlines(keepends=True), use_apt_pkg=False):
        name = para.get("Package", "").strip()
        version = para.get("Version", "").strip()
        if not name or not version:
            continue
        status = para.get("Status")
        if status is None:
            if require_status:
                continue
        else:
            words = status.split()
            if len(words) != 3 or words[1] != "ok" or words[2] != "installed":
                continue
        source_name, source_version = name, version
        source = para.get("Source")
        if source:
            match = _SOURCE.match(source)
            if match:
                source_name = match["name"]
                source_version = (match["version"] or version).strip()
        found.append(
            _Found(
                kind=_DPKG,
                name=name,
                version=version,
                arch=para.get("Architecture", "").strip() or None,
                source_name=source_name,
                source_version=source_version,
            )
        )
    return found


def parse_apk_installed(data: bytes) -> list[_Found]:
    """apk's ``lib/apk/db/installed``: ``X:value`` lines, a blank line between packages."""
    found: list[_Found] = []
    fields: dict[str, str] = {}

    def flush() -> None:
        name, version = fields.get("P"), fields.get("V")
        if name and version:
            origin = fields.get("o") or name
            found.append(
                _Found(
                    kind=_APK,
                    name=name,
                    version=version,
                    arch=fields.get("A") or None,
                    source_name=origin,
                    source_version=version,
                )
            )
        fields.clear()

    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            flush()
            continue
        if len(line) >= 2 and line[1] == ":" and line[0] not in fields:
            fields[line[0]] = line[2:].strip()
    flush()
    return found


# rpm header tags and types (rpm's lib/rpmtag.h)
_RPMTAG_NAME = 1000
_RPMTAG_VERSION = 1001
_RPMTAG_RELEASE = 1002
_RPMTAG_EPOCH = 1003
_RPMTAG_ARCH = 1022
_RPMTAG_SOURCERPM = 1044
_RPM_WANTED = frozenset(
    {
        _RPMTAG_NAME,
        _RPMTAG_VERSION,
        _RPMTAG_RELEASE,
        _RPMTAG_EPOCH,
        _RPMTAG_ARCH,
        _RPMTAG_SOURCERPM,
    }
)
_RPM_INT32 = 4
_RPM_STRING = 6
_RPM_STRING_ARRAY = 8
_RPM_I18NSTRING = 9
_SQLITE_MAGIC = b"SQLite format 3\x00"


def parse_rpmdb_sqlite(data: bytes) -> list[_Found]:
    """Installed packages of an rpm ``rpmdb.sqlite``, read in memory (nothing on disk)."""
    if not data.startswith(_SQLITE_MAGIC) or len(data) < 100:
        raise ValueError("not an SQLite database")
    # A database left in WAL mode cannot be opened from memory; rollback mode reads the same.
    image = bytearray(data)
    image[18:20] = b"\x01\x01"
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(bytes(image))
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        found = [
            pkg
            for (blob,) in conn.execute("SELECT blob FROM Packages")
            if isinstance(blob, bytes) and (pkg := _rpm_package(parse_rpm_header(blob)))
        ]
    finally:
        conn.close()
    return found


def parse_rpm_header(blob: bytes) -> dict[int, str | int]:
    """The name/version/release/epoch/arch/sourcerpm tags of one rpm header blob.

    The blob is rpm's on-disk header without its magic: the index length and data length
    (big-endian 32-bit), the index entries (tag, type, offset, count), then the data store.
    """
    if len(blob) < 8:
        raise ValueError("rpm header too short")
    index_len, data_len = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * index_len
    if start + data_len > len(blob):
        raise ValueError("rpm header is truncated")
    store = blob[start : start + data_len]
    tags: dict[int, str | int] = {}
    for i in range(index_len):
        tag, type_, offset, count = struct.unpack_from(">IIiI", blob, 8 + 16 * i)
        if tag not in _RPM_WANTED or not 0 <= offset < data_len:
            continue
        if type_ in (_RPM_STRING, _RPM_I18NSTRING, _RPM_STRING_ARRAY):
            end = store.find(b"\x00", offset)
            if end < 0:
                raise ValueError(f"rpm tag {tag} is not terminated")
            tags[tag] = store[offset:end].decode("utf-8", "replace")
        elif type_ == _RPM_INT32 and count >= 1 and offset + 4 <= data_len:
            (tags[tag],) = struct.unpack_from(">i", store, offset)
    return tags


def _rpm_package(tags: dict[int, str | int]) -> _Found | None:
    name, version = tags.get(_RPMTAG_NAME), tags.get(_RPMTAG_VERSION)
    release = tags.get(_RPMTAG_RELEASE)
    if not isinstance(name, str) or not isinstance(version, str) or name == "gpg-pubkey":
        return None  # gpg-pubkey entries are imported signing keys, not software
    evr = f"{version}-{release}" if isinstance(release, str) and release else version
    epoch_tag = tags.get(_RPMTAG_EPOCH)
    epoch = str(epoch_tag) if isinstance(epoch_tag, int) else None
    arch = tags.get(_RPMTAG_ARCH)
    source_name: str | None = None
    source_version: str | None = None
    source_rpm = tags.get(_RPMTAG_SOURCERPM)
    if isinstance(source_rpm, str) and source_rpm.endswith(".rpm"):
        # openssl-3.0.7-27.el9.src.rpm -> name openssl, version-release 3.0.7-27.el9
        stem = source_rpm.removesuffix(".rpm").rpartition(".")[0]
        src_name, _, src_release = stem.rpartition("-")
        src_name, _, src_version = src_name.rpartition("-")
        if src_name and src_version and src_release:
            source_name = src_name
            source_version = f"{src_version}-{src_release}"
            if epoch is not None:
                source_version = f"{epoch}:{source_version}"
    return _Found(
        kind=_RPM,
        name=name,
        version=f"{epoch}:{evr}" if epoch is not None else evr,
        arch=arch if isinstance(arch, str) and arch else None,
        source_name=source_name,
        source_version=source_version,
        epoch=epoch,
        rpm_version=evr,
    )


def parse_python_metadata(data: bytes) -> list[_Found]:
    """A ``METADATA``/``PKG-INFO`` file (RFC 822 style headers): its Name and Version."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    message = parser.parsebytes(data)
    name, version = message.get("Name"), message.get("Version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ValueError("no Name or Version header")
    name, version = name.strip(), version.strip()
    if not name or not version:
        raise ValueError("empty Name or Version header")
    return [_Found(kind=_PYTHON, name=name, version=version)]


def parse_package_json(data: bytes) -> list[_Found]:
    """A ``node_modules`` ``package.json``: its name and version."""
    try:
        document = parse_json(data)
    except JsonInvalid as exc:  # an image's file: a hostile one may nest without end
        raise ValueError(exc.describe()) from None
    if not isinstance(document, dict):
        raise ValueError("package.json is not an object")
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        raise ValueError("package.json has no name or version")
    return [_Found(kind=_NPM, name=name.strip(), version=version.strip())]


# --- assembling the inventory -----------------------------------------------------------------

_PEP503 = re.compile(r"[-_.]+")


def normalize_python_name(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, all lower case."""
    return _PEP503.sub("-", name).lower()


# Debian releases by codename, for testing/sid images whose os-release has no VERSION_ID.
_DEBIAN_CODENAMES = {
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
_PURL_NAMESPACES = {"rhel": "redhat", "opensuse-leap": "opensuse", "sles": "suse"}


def _major(version: str | None) -> str | None:
    if not version:
        return None
    match = re.match(r"\d+", version)
    return match[0] if match else None


def _major_minor(version: str | None) -> str | None:
    if not version:
        return None
    match = re.match(r"\d+(?:\.\d+)?", version)
    return match[0] if match else None


def os_ecosystem(os: OsRelease | None, kind: str = _DPKG) -> str:
    """The OSV ecosystem of a distribution's packages, e.g. ``Debian:12``, ``Alpine:v3.20``.

    A distribution OSV has no ecosystem for gets ``<ID>:<VERSION_ID>`` (no data will match
    it); an image without an os-release gets the package manager's home distribution.
    """
    if os is None:
        return {_APK: "Alpine", _RPM: "Red Hat"}.get(kind, "Debian")
    version = os.version_id
    if os.id == "debian":
        major = _major(version) or _DEBIAN_CODENAMES.get(os.version_codename or "")
        return f"Debian:{major}" if major else "Debian"
    if os.id == "ubuntu":
        if not version:
            return "Ubuntu"
        lts = ":LTS" if "LTS" in (os.pretty_name or "") else ""
        return f"Ubuntu:{version}{lts}"
    if os.id == "alpine":
        minor = _major_minor(version)
        return f"Alpine:v{minor}" if minor else "Alpine"
    if os.id == "wolfi":
        return "Wolfi"
    if os.id == "chainguard":
        return "Chainguard"
    if os.id == "rocky":
        return f"Rocky Linux:{_major(version)}" if _major(version) else "Rocky Linux"
    if os.id == "almalinux":
        return f"AlmaLinux:{_major(version)}" if _major(version) else "AlmaLinux"
    if os.id == "rhel":
        return "Red Hat"
    if os.id == "opensuse-leap" and version:
        return f"openSUSE:Leap {version}"
    if os.id == "sles" and version:
        major, _, service_pack = version.partition(".")
        sp = f" SP{service_pack}" if service_pack and service_pack != "0" else ""
        return f"SUSE:Linux Enterprise Server {major}{sp}"
    if os.id == "photon" and version:
        return f"Photon OS:{version}"
    if os.id == "mageia" and version:
        return f"Mageia:{version}"
    return f"{os.id}:{version}" if version else os.id


def _distro_purl(found: _Found, os: OsRelease | None, kind: str) -> str:
    default_namespace = {_APK: "alpine", _RPM: "redhat"}.get(kind, "debian")
    namespace = _PURL_NAMESPACES.get(os.id, os.id) if os is not None else default_namespace
    purl_type = {_DPKG: "deb", _APK: "apk", _RPM: "rpm"}[kind]
    qualifiers: dict[str, str] = {}
    if found.arch:
        qualifiers["arch"] = found.arch
    if found.epoch is not None:
        qualifiers["epoch"] = found.epoch
    if os is not None and os.version_id:
        qualifiers["distro"] = f"{os.id}-{os.version_id}"
    version = found.rpm_version if kind == _RPM and found.rpm_version else found.version
    return PackageURL(
        type=purl_type,
        namespace=namespace,
        name=found.name,
        version=version,
        qualifiers=qualifiers or None,
    ).to_string()


def _to_package(found: _Found, os: OsRelease | None, layer: int, path: str) -> Package:
    if found.kind == _PYTHON:
        return Package(
            ecosystem=PYPI,
            name=normalize_python_name(found.name),
            version=found.version,
            source_name=None,
            source_version=None,
            arch=None,
            purl=PackageURL(type="pypi", name=found.name, version=found.version).to_string(),
            layer_digest_index=layer,
            path=path,
            display_name=found.name,
        )
    if found.kind == _NPM:
        scope, _, bare = found.name.rpartition("/")
        purl = PackageURL(type="npm", namespace=scope or None, name=bare, version=found.version)
        return Package(
            ecosystem=NPM,
            name=found.name,
            version=found.version,
            source_name=None,
            source_version=None,
            arch=None,
            purl=purl.to_string(),
            layer_digest_index=layer,
            path=path,
            display_name=found.name,
        )
    kind = _DPKG if found.kind == _DPKG_STATUS_D else found.kind
    return Package(
        ecosystem=os_ecosystem(os, kind),
        name=found.name,
        version=found.version,
        source_name=found.source_name,
        source_version=found.source_version,
        arch=found.arch,
        purl=_distro_purl(found, os, kind),
        layer_digest_index=layer,
        path=path,
        display_name=found.name,
    )


def _assemble(fs: _Filesystem, notes: Iterable[str]) -> Inventory:
    os: OsRelease | None = None
    for path in _OS_PATHS:
        kept = fs.files.get(path)
        if kept is not None and kept.os is not None:
            os = kept.os
            break
    packages = [
        _to_package(found, os, kept.layer, path)
        for path, kept in fs.files.items()
        for found in kept.packages
    ]
    packages.sort(key=lambda p: (p.ecosystem, p.name, p.version, p.arch or "", p.path))
    return Inventory(os=os, packages=tuple(packages), notes=tuple(notes))
