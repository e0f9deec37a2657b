"""Does an OSV record affect an installed package? Pure functions, no I/O.

The rules (OSV schema, "Evaluation"):

* A withdrawn record never matches.
* An ``affected`` entry applies when its package's ecosystem equals the package's and the
  names are equal after normalisation (PEP 503 for PyPI). Ecosystems whose OSV data is keyed
  by **source** package (Debian, Ubuntu, Alpine, ...) are matched on the package's
  ``source_name`` and ``source_version`` (falling back to the binary's name and version).
* A version is affected when it is listed in ``versions`` (equal under the ecosystem's order,
  so PyPI's ``2.10`` equals ``2.10.0``) or lies in an ``ECOSYSTEM`` or ``SEMVER`` range:
  events are sorted by version (``introduced: "0"`` below everything; equal versions keep the
  record's order), ``introduced`` opens, ``fixed`` closes (at it), ``last_affected`` closes
  (after it), and a range with ``limit`` events only covers versions below one of them
  (``"*"`` is infinity). ``GIT`` ranges need the repository and are not evaluated.
* Versions that do not parse under the ecosystem's rules are handled explicitly: an installed
  version that does not parse is only compared by exact string with ``versions``; a range
  with an event version that does not parse is skipped (both are what osv.dev's own order
  amounts to for PyPI, where such strings sort below every valid version).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from dockyard.scanning.osv import Affected, Event, OsvRecord, Range, normalize_name
from dockyard.scanning.versions import (
    SEMVER,
    InvalidVersion,
    UnsupportedEcosystem,
    compare_scheme,
    ecosystem_base,
    scheme_for,
)

# Ecosystems whose OSV records name the source package (osv-schema's ecosystem table).
SOURCE_KEYED_ECOSYSTEMS: Final = frozenset(
    {
        "AlmaLinux",
        "Alpaquita",
        "Alpine",
        "BellSoft Hardened Containers",
        "Debian",
        "Echo",
        "Mageia",
        "openEuler",
        "openSUSE",
        "Rocky Linux",
        "SUSE",
        "Ubuntu",
    }
)


class PackageLike(Protocol):
    """What matching reads from an installed package (``scanning.inventory.Package`` fits)."""

    @property
    def ecosystem(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def source_name(self) -> str | None: ...

    @property
    def source_version(self) -> str | None: ...


P = TypeVar("P", bound=PackageLike)


@dataclass(frozen=True, slots=True)
class LookupKey:
    """The identity a package is matched by: ecosystem, normalised name, and version."""

    ecosystem: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class AffectedHit:
    record_id: str
    ecosystem: str
    package_name: str  # the name that matched (the source package for Debian)
    version: str  # the version that was compared
    fixed_version: str | None  # the version that fixes it, when the record says
    matched_by: str  # "versions", "ECOSYSTEM" or "SEMVER"
    affected_index: int  # which of the record's ``affected`` entries matched


def lookup_key(package: PackageLike) -> LookupKey:
    """The (ecosystem, name, version) a package is looked up and compared by."""
    ecosystem = package.ecosystem
    name, version = package.name, package.version
    if ecosystem_base(ecosystem) in SOURCE_KEYED_ECOSYSTEMS and package.source_name:
        name = package.source_name
        version = package.source_version or package.version
    return LookupKey(ecosystem, normalize_name(ecosystem, name), version)


def lookup_names(packages: Iterable[PackageLike]) -> dict[str, set[str]]:
    """The names to ask the vulnerability database for, per ecosystem."""
    out: dict[str, set[str]] = {}
    for package in packages:
        key = lookup_key(package)
        out.setdefault(key.ecosystem, set()).add(key.name)
    return out


def affected(record: OsvRecord, package: PackageLike) -> AffectedHit | None:
    """Whether ``record`` affects ``package``; the hit says how and what fixes it."""
    if record.withdrawn is not None:
        return None
    key = lookup_key(package)
    hits: list[AffectedHit] = []
    for index, entry in enumerate(record.affected):
        if entry.package is None or entry.package.ecosystem != key.ecosystem:
            continue
        if normalize_name(key.ecosystem, entry.package.name) != key.name:
            continue
        hit = _evaluate(record.id, index, entry, key)
        if hit is not None:
            hits.append(hit)
    if not hits:
        return None
    if len(hits) == 1:
        return hits[0]
    # Several entries for the same package: the fix has to leave all of them.
    first = hits[0]
    scheme = _scheme(key.ecosystem) or SEMVER
    fixes = [(scheme, h.fixed_version) for h in hits if h.fixed_version is not None]
    if not fixes:
        return first
    return AffectedHit(
        record_id=first.record_id,
        ecosystem=first.ecosystem,
        package_name=first.package_name,
        version=first.version,
        fixed_version=_latest(fixes),
        matched_by=first.matched_by,
        affected_index=first.affected_index,
    )


def match_packages(
    packages: Iterable[P], records: Iterable[OsvRecord]
) -> list[tuple[P, OsvRecord, AffectedHit]]:
    """Every (package, record, hit) among ``packages`` and candidate ``records``."""
    by_key: dict[tuple[str, str], list[OsvRecord]] = {}
    for record in records:
        if record.withdrawn is not None:
            continue
        for package_key in record.package_keys():
            by_key.setdefault(package_key, []).append(record)
    out: list[tuple[P, OsvRecord, AffectedHit]] = []
    for package in packages:
        key = lookup_key(package)
        for record in by_key.get((key.ecosystem, key.name), ()):
            hit = affected(record, package)
            if hit is not None:
                out.append((package, record, hit))
    return out


def _scheme(ecosystem: str) -> str | None:
    try:
        return scheme_for(ecosystem)
    except UnsupportedEcosystem:
        return None


def _evaluate(record_id: str, index: int, entry: Affected, key: LookupKey) -> AffectedHit | None:
    scheme = _scheme(key.ecosystem)
    matched_by: str | None = None
    if _listed(scheme, key.version, entry.versions):
        matched_by = "versions"
    closing: list[tuple[str, str]] = []  # (scheme, fixed version) of ranges holding it
    upcoming: list[tuple[str, str]] = []  # the next fix of ranges that do not hold it
    for rng in entry.ranges:
        range_scheme = SEMVER if rng.type == "SEMVER" else scheme
        if rng.type == "GIT" or range_scheme is None:
            continue
        try:
            inside, fix = _in_range(range_scheme, key.version, rng)
            if not inside:
                fix = _next_fix(range_scheme, key.version, rng)
        except InvalidVersion:
            continue
        if inside:
            matched_by = matched_by or rng.type
        if fix is not None:
            (closing if inside else upcoming).append((range_scheme, fix))
    if matched_by is None:
        return None
    # In a range: what closes it (the latest, if several ranges hold the version). Only in
    # the versions list: the next fix any range names.
    fixes = closing or upcoming
    fixed = None
    if fixes:
        fixed = _latest(fixes) if closing else _earliest(fixes)
    return AffectedHit(
        record_id=record_id,
        ecosystem=key.ecosystem,
        package_name=key.name,
        version=key.version,
        fixed_version=fixed,
        matched_by=matched_by,
        affected_index=index,
    )


def _listed(scheme: str | None, version: str, versions: tuple[str, ...]) -> bool:
    if version in versions:
        return True
    if scheme is None:
        return False
    for listed in versions:
        try:
            if compare_scheme(scheme, version, listed) == 0:
                return True
        except InvalidVersion:
            continue
    return False


def _is_zero(event: Event) -> bool:
    return event.kind == "introduced" and event.version == "0"


def _event_cmp(scheme: str, a: Event, b: Event) -> int:
    if _is_zero(a) or _is_zero(b):
        return int(_is_zero(b)) - int(_is_zero(a))
    return compare_scheme(scheme, a.version, b.version)


def _sorted_events(scheme: str, rng: Range) -> list[Event]:
    # sorted() is stable: events at equal versions keep the order the record gives them.
    ordered = [e for e in rng.events if e.kind != "limit"]
    return sorted(ordered, key=functools.cmp_to_key(functools.partial(_event_cmp, scheme)))


def _before_limits(scheme: str, version: str, rng: Range) -> bool:
    limits = [e.version for e in rng.events if e.kind == "limit"]
    if not limits:
        return True
    return any("*" in limit or compare_scheme(scheme, version, limit) < 0 for limit in limits)


def _in_range(scheme: str, version: str, rng: Range) -> tuple[bool, str | None]:
    """(whether ``version`` is in the range, the ``fixed`` event that closes it there)."""
    compare_scheme(scheme, version, version)  # an unparsable installed version raises here
    if not _before_limits(scheme, version, rng):
        return False, None
    events = _sorted_events(scheme, rng)
    vulnerable = False
    remaining = len(events)  # where the events above this version start
    for index, event in enumerate(events):
        if _is_zero(event):
            vulnerable = True
            continue
        order = compare_scheme(scheme, version, event.version)
        if order < 0 or (order == 0 and event.kind == "last_affected"):
            # Sorted: nothing from here on changes this version's state (a last_affected
            # equal to it keeps it affected, and is what closes the range).
            remaining = index
            break
        vulnerable = event.kind == "introduced"
    if not vulnerable:
        return False, None
    for event in events[remaining:]:
        if event.kind == "fixed":
            return True, event.version
        if event.kind == "last_affected":
            return True, None
    return True, None


def _next_fix(scheme: str, version: str, rng: Range) -> str | None:
    for event in _sorted_events(scheme, rng):
        if event.kind == "fixed" and compare_scheme(scheme, version, event.version) < 0:
            return event.version
    return None


def _pick(fixes: list[tuple[str, str]], reverse: bool) -> str:
    scheme = fixes[0][0]
    versions = [version for _, version in fixes]
    try:
        ordered = sorted(
            versions, key=functools.cmp_to_key(functools.partial(compare_scheme, scheme))
        )
    except InvalidVersion:
        return versions[0]
    return ordered[-1] if reverse else ordered[0]


def _latest(fixes: list[tuple[str, str]]) -> str:
    return _pick(fixes, reverse=True)


def _earliest(fixes: list[tuple[str, str]]) -> str:
    return _pick(fixes, reverse=False)


__all__ = [
    "SOURCE_KEYED_ECOSYSTEMS",
    "AffectedHit",
    "LookupKey",
    "PackageLike",
    "affected",
    "lookup_key",
    "lookup_names",
    "match_packages",
]
