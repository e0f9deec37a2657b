"""OSV records (https://ossf.github.io/osv-schema/): parsing, validation and reading sources.

A source is one of: a zip of JSON records (osv.dev's per-ecosystem ``all.zip``), a directory
of ``*.json`` files (searched recursively), a single JSON file, or an ``http(s)://`` URL of a
zip or JSON file (streamed to a temporary file first). A JSON file holds one record or a list
of records. Records that fail validation are counted and the first few reasons kept; they
never stop the rest of the source from being read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from dockyard.domain.errors import JsonInvalid
from dockyard.domain.jsontext import parse_json

RANGE_TYPES: Final = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KINDS: Final = ("introduced", "fixed", "last_affected", "limit")

# Bounds on what one source may make us hold: a record larger than this is refused (a zip
# entry is read only up to it), and a download larger than MAX_DOWNLOAD_BYTES is abandoned.
MAX_RECORD_BYTES: Final = 32 * 1024 * 1024
MAX_DOWNLOAD_BYTES: Final = 16 * 1024 * 1024 * 1024
MAX_ID_LENGTH: Final = 255
MAX_NAME_LENGTH: Final = 512
MAX_ECOSYSTEM_LENGTH: Final = 128


class InvalidRecord(ValueError):
    """A JSON document that is not a valid OSV record; the message says why."""


class SourceError(OSError):
    """A source that cannot be read at all (missing path, not a zip, HTTP failure)."""


# -- the record model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # introduced | fixed | last_affected | limit
    version: str


@dataclass(frozen=True, slots=True)
class Range:
    type: str  # ECOSYSTEM | SEMVER | GIT
    events: tuple[Event, ...]
    repo: str | None = None


@dataclass(frozen=True, slots=True)
class OsvPackage:
    ecosystem: str
    name: str
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class SeverityEntry:
    type: str  # CVSS_V2 | CVSS_V3 | CVSS_V4 | Ubuntu | ...
    score: str


@dataclass(frozen=True, slots=True)
class Reference:
    type: str
    url: str


@dataclass(frozen=True, slots=True)
class Affected:
    package: OsvPackage | None
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    severity: tuple[SeverityEntry, ...] = ()
    ecosystem_specific: Mapping[str, Any] | None = None
    database_specific: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OsvRecord:
    id: str
    modified: datetime
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    summary: str | None = None
    details: str | None = None
    severity: tuple[SeverityEntry, ...] = ()
    affected: tuple[Affected, ...] = ()
    references: tuple[Reference, ...] = ()
    database_specific: Mapping[str, Any] | None = None
    schema_version: str | None = None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn is not None

    @property
    def cve_ids(self) -> tuple[str, ...]:
        """CVE ids this record is, aliases or names upstream, in that order, without repeats."""
        seen: dict[str, None] = {}
        for candidate in (self.id, *self.aliases, *self.upstream):
            if candidate.startswith("CVE-"):
                seen.setdefault(candidate, None)
        return tuple(seen)

    @property
    def display_name(self) -> str:
        """The name a finding shows: the first CVE id if there is one, else the record id."""
        cves = self.cve_ids
        return cves[0] if cves else self.id

    @property
    def advisory_url(self) -> str | None:
        """The first ADVISORY reference, else the first reference of any type."""
        for reference in self.references:
            if reference.type == "ADVISORY":
                return reference.url
        return self.references[0].url if self.references else None

    def package_keys(self) -> frozenset[tuple[str, str]]:
        """(ecosystem, normalised name) of every affected package: the lookup keys."""
        return frozenset(
            (a.package.ecosystem, normalize_name(a.package.ecosystem, a.package.name))
            for a in self.affected
            if a.package is not None
        )

    def to_json(self) -> dict[str, Any]:
        """The record as OSV JSON, holding every field this model keeps."""
        out: dict[str, Any] = {"id": self.id, "modified": _timestamp(self.modified)}
        if self.schema_version is not None:
            out["schema_version"] = self.schema_version
        if self.published is not None:
            out["published"] = _timestamp(self.published)
        if self.withdrawn is not None:
            out["withdrawn"] = _timestamp(self.withdrawn)
        for key, values in (
            ("aliases", self.aliases),
            ("upstream", self.upstream),
            ("related", self.related),
        ):
            if values:
                out[key] = list(values)
        if self.summary is not None:
            out["summary"] = self.summary
        if self.details is not None:
            out["details"] = self.details
        if self.severity:
            out["severity"] = [{"type": s.type, "score": s.score} for s in self.severity]
        if self.affected:
            out["affected"] = [_affected_json(a) for a in self.affected]
        if self.references:
            out["references"] = [{"type": r.type, "url": r.url} for r in self.references]
        if self.database_specific is not None:
            out["database_specific"] = dict(self.database_specific)
        return out


def _affected_json(affected: Affected) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if affected.package is not None:
        package = {"ecosystem": affected.package.ecosystem, "name": affected.package.name}
        if affected.package.purl is not None:
            package["purl"] = affected.package.purl
        out["package"] = package
    if affected.severity:
        out["severity"] = [{"type": s.type, "score": s.score} for s in affected.severity]
    if affected.ranges:
        ranges = []
        for rng in affected.ranges:
            item: dict[str, Any] = {"type": rng.type}
            if rng.repo is not None:
                item["repo"] = rng.repo
            item["events"] = [{e.kind: e.version} for e in rng.events]
            ranges.append(item)
        out["ranges"] = ranges
    if affected.versions:
        out["versions"] = list(affected.versions)
    if affected.ecosystem_specific is not None:
        out["ecosystem_specific"] = dict(affected.ecosystem_specific)
    if affected.database_specific is not None:
        out["database_specific"] = dict(affected.database_specific)
    return out


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- names ---------------------------------------------------------------------------------------

_PEP503 = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """The form a package name is looked up by: PEP 503 for PyPI (``Jinja2`` -> ``jinja2``,
    ``zope.interface`` -> ``zope-interface``); other ecosystems' names are used as written."""
    if ecosystem == "PyPI" or ecosystem.startswith("PyPI:"):
        return _PEP503.sub("-", name).lower()
    return name


# -- validation ----------------------------------------------------------------------------------


def parse_record(data: Any) -> OsvRecord:
    """Validate one decoded JSON document as an OSV record; raises :class:`InvalidRecord`."""
    if not isinstance(data, dict):
        raise InvalidRecord("a record must be a JSON object")
    record_id = data.get("id")
    if not isinstance(record_id, str) or not record_id.strip():
        raise InvalidRecord("missing or empty 'id'")
    if len(record_id) > MAX_ID_LENGTH:
        raise InvalidRecord(f"'id' longer than {MAX_ID_LENGTH} characters")
    try:
        modified = _parse_time(data.get("modified"), "modified")
        if modified is None:
            raise InvalidRecord("missing 'modified'")
        schema_version = data.get("schema_version")
        if schema_version is not None and not isinstance(schema_version, str):
            raise InvalidRecord("'schema_version' must be a string")
        return OsvRecord(
            id=record_id,
            modified=modified,
            published=_parse_time(data.get("published"), "published"),
            withdrawn=_parse_time(data.get("withdrawn"), "withdrawn"),
            aliases=_strings(data.get("aliases"), "aliases"),
            upstream=_strings(data.get("upstream"), "upstream"),
            related=_strings(data.get("related"), "related"),
            summary=_optional_string(data.get("summary"), "summary"),
            details=_optional_string(data.get("details"), "details"),
            severity=_severity(data.get("severity"), "severity"),
            affected=tuple(
                _affected(item, f"affected[{i}]")
                for i, item in enumerate(_list(data.get("affected"), "affected"))
            ),
            references=_references(data.get("references")),
            database_specific=_object(data.get("database_specific"), "database_specific"),
            schema_version=schema_version,
        )
    except InvalidRecord as exc:
        raise InvalidRecord(f"{record_id}: {exc}") from None


def _parse_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"'{where}' must be an RFC 3339 timestamp string")
    try:
        # RFC 3339 allows a space for the "T"; PyPA's records use both forms.
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRecord(f"'{where}' is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidRecord(f"'{where}' is out of range: {value!r}") from None


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"'{where}' must be a list")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = _list(value, where)
    if not all(isinstance(item, str) for item in items):
        raise InvalidRecord(f"'{where}' must be a list of strings")
    return tuple(items)


def _optional_string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRecord(f"'{where}' must be a string")
    return value


def _required_string(value: Any, where: str, max_length: int | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"'{where}' must be a non-empty string")
    if max_length is not None and len(value) > max_length:
        raise InvalidRecord(f"'{where}' longer than {max_length} characters")
    return value


def _object(value: Any, where: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidRecord(f"'{where}' must be an object")
    return value


def _severity(value: Any, where: str) -> tuple[SeverityEntry, ...]:
    out = []
    for i, item in enumerate(_list(value, where)):
        if not isinstance(item, dict):
            raise InvalidRecord(f"'{where}[{i}]' must be an object")
        out.append(
            SeverityEntry(
                type=_required_string(item.get("type"), f"{where}[{i}].type"),
                score=_required_string(item.get("score"), f"{where}[{i}].score"),
            )
        )
    return tuple(out)


def _references(value: Any) -> tuple[Reference, ...]:
    out = []
    for i, item in enumerate(_list(value, "references")):
        if not isinstance(item, dict):
            raise InvalidRecord(f"'references[{i}]' must be an object")
        out.append(
            Reference(
                type=_required_string(item.get("type"), f"references[{i}].type"),
                url=_required_string(item.get("url"), f"references[{i}].url"),
            )
        )
    return tuple(out)


def _affected(value: Any, where: str) -> Affected:
    if not isinstance(value, dict):
        raise InvalidRecord(f"'{where}' must be an object")
    package = None
    raw_package = value.get("package")
    if raw_package is not None:
        if not isinstance(raw_package, dict):
            raise InvalidRecord(f"'{where}.package' must be an object")
        package = OsvPackage(
            ecosystem=_required_string(
                raw_package.get("ecosystem"), f"{where}.package.ecosystem", MAX_ECOSYSTEM_LENGTH
            ),
            name=_required_string(
                raw_package.get("name"), f"{where}.package.name", MAX_NAME_LENGTH
            ),
            purl=_optional_string(raw_package.get("purl"), f"{where}.package.purl"),
        )
    ranges = tuple(
        _range(item, f"{where}.ranges[{i}]")
        for i, item in enumerate(_list(value.get("ranges"), f"{where}.ranges"))
    )
    if package is None and any(r.type != "GIT" for r in ranges):
        raise InvalidRecord(f"'{where}' has {ranges[0].type} ranges but no package")
    return Affected(
        package=package,
        ranges=ranges,
        versions=_strings(value.get("versions"), f"{where}.versions"),
        severity=_severity(value.get("severity"), f"{where}.severity"),
        ecosystem_specific=_object(value.get("ecosystem_specific"), f"{where}.ecosystem_specific"),
        database_specific=_object(value.get("database_specific"), f"{where}.database_specific"),
    )


def _range(value: Any, where: str) -> Range:
    if not isinstance(value, dict):
        raise InvalidRecord(f"'{where}' must be an object")
    range_type = value.get("type")
    if range_type not in RANGE_TYPES:
        raise InvalidRecord(f"'{where}.type' must be one of {', '.join(RANGE_TYPES)}")
    repo = _optional_string(value.get("repo"), f"{where}.repo")
    if range_type == "GIT" and not repo:
        raise InvalidRecord(f"'{where}' is a GIT range without 'repo'")
    events = []
    for i, item in enumerate(_list(value.get("events"), f"{where}.events")):
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidRecord(f"'{where}.events[{i}]' must be an object with exactly one key")
        ((kind, version),) = item.items()
        if kind not in EVENT_KINDS:
            raise InvalidRecord(f"'{where}.events[{i}]' has unknown event {kind!r}")
        events.append(Event(kind, _required_string(version, f"{where}.events[{i}].{kind}")))
    kinds = {e.kind for e in events}
    if "introduced" not in kinds:
        raise InvalidRecord(f"'{where}.events' has no 'introduced' event")
    if {"fixed", "last_affected"} <= kinds:
        raise InvalidRecord(f"'{where}.events' has both 'fixed' and 'last_affected'")
    return Range(type=range_type, events=tuple(events), repo=repo)


# -- sources -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one entry of a source was not imported."""

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


@dataclass
class OsvSource:
    """An opened source: iterate it for its valid records (once). ``entries`` is the number of
    JSON files found (known before iterating, for progress); ``invalid`` and ``problems`` (the
    first ``max_problems``) are filled in while iterating."""

    name: str
    entries: int
    max_problems: int = 10
    valid: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    _zip: zipfile.ZipFile | None = None
    _members: list[str] = field(default_factory=list)
    _files: list[Path] = field(default_factory=list)
    _temporary: Path | None = None

    def __iter__(self) -> Iterator[OsvRecord]:
        if self._zip is not None:
            archive = self._zip
            for member in self._members:
                yield from self._records(member, functools.partial(_read_member, archive, member))
        else:
            for path in self._files:
                yield from self._records(str(path), functools.partial(_read_file, path))

    def _records(self, entry: str, read: Callable[[], bytes]) -> Iterator[OsvRecord]:
        try:
            raw = read()
            document = parse_json(raw)
        except (OSError, ValueError, JsonInvalid, zipfile.BadZipFile) as exc:
            self._problem(entry, f"unreadable JSON: {exc}")
            return
        documents = document if isinstance(document, list) else [document]
        for item in documents:
            try:
                record = parse_record(item)
            except InvalidRecord as exc:
                self._problem(entry, str(exc))
                continue
            self.valid += 1
            yield record

    def _problem(self, entry: str, reason: str) -> None:
        self.invalid += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(entry, reason))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                self._temporary.unlink()
            self._temporary = None

    def __enter__(self) -> OsvSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    with archive.open(member) as handle:
        data = handle.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes")
    return data


def _read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes")
    return data


def open_source(
    location: str | os.PathLike[str],
    *,
    temp_dir: str | os.PathLike[str] | None = None,
    max_problems: int = 10,
    timeout: float = 60.0,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
) -> OsvSource:
    """Open a zip, a directory, a JSON file, or an ``http(s)://`` URL of a zip or JSON file.

    A URL is streamed to a temporary file in ``temp_dir`` (the system default if None), which
    the source deletes when closed. Raises :class:`SourceError` when nothing can be read."""
    text = os.fspath(location)
    if text.startswith(("http://", "https://")):
        downloaded = _download(text, temp_dir, timeout, max_download_bytes)
        try:
            source = _open_path(downloaded, text, max_problems)
        except BaseException:
            downloaded.unlink(missing_ok=True)
            raise
        source._temporary = downloaded
        return source
    if "://" in text:
        raise SourceError(f"unsupported URL scheme: {text}")
    return _open_path(Path(text), text, max_problems)


def _open_path(path: Path, name: str, max_problems: int) -> OsvSource:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        return OsvSource(name=name, entries=len(files), max_problems=max_problems, _files=files)
    if not path.is_file():
        raise SourceError(f"no such file or directory: {name}")
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceError(f"{name}: not a readable zip: {exc}") from exc
        members = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir() and info.filename.lower().endswith(".json")
        ]
        return OsvSource(
            name=name,
            entries=len(members),
            max_problems=max_problems,
            _zip=archive,
            _members=members,
        )
    with path.open("rb") as handle:
        start = handle.read(64).lstrip()
    if start[:1] in (b"{", b"["):
        return OsvSource(name=name, entries=1, max_problems=max_problems, _files=[path])
    raise SourceError(f"{name}: neither a zip nor a JSON file nor a directory")


def _download(
    url: str, temp_dir: str | os.PathLike[str] | None, timeout: float, limit: int
) -> Path:
    handle, raw_path = tempfile.mkstemp(prefix="osv-", suffix=".download", dir=temp_dir)
    path = Path(raw_path)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "dockyard-vulndb"})
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            copied = 0
            while chunk := r.read(1024 * 1024):
                copied += len(chunk)
                if copied > limit:
                    raise SourceError(f"{url}: larger than {limit} bytes")
                out.write(chunk)
    except SourceError:
        path.unlink(missing_ok=True)
        raise
    except (OSError, ValueError) as exc:
        path.unlink(missing_ok=True)
        raise SourceError(f"{url}: download failed: {exc}") from exc
    return path


__all__ = [
    "EVENT_KINDS",
    "RANGE_TYPES",
    "Affected",
    "Event",
    "InvalidRecord",
    "OsvPackage",
    "OsvRecord",
    "OsvSource",
    "Problem",
    "Range",
    "Reference",
    "SeverityEntry",
    "SourceError",
    "normalize_name",
    "open_source",
    "parse_record",
]
