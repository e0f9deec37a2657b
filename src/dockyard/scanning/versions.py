"""Version order per package ecosystem.

Each OSV ecosystem orders versions by its package manager's rules:

* ``dpkg`` (Debian, Ubuntu): python-debian's ``Version``, which implements dpkg's algorithm
  (epochs, ``~`` sorting before everything, letters before non-letters).
* ``pep440`` (PyPI): ``packaging.version.Version``. Strings that are not PEP 440 versions
  raise :class:`InvalidVersion`; there is no "legacy" order to fall back to.
* ``semver`` (npm, crates.io, Go, ... and every ``SEMVER`` range): SemVer 2.0.0 precedence,
  written here (section 11 of the spec: prerelease identifiers, build metadata ignored).
* ``apk`` (Alpine, Wolfi, Chainguard): a port of apk-tools' ``src/version.c``
  (``digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}``).
* ``rpm`` (Red Hat, AlmaLinux, Rocky, SUSE, ...): ``epoch:version-release`` with rpm's
  ``rpmvercmp`` for version and release.

``compare(ecosystem, a, b)`` returns -1, 0 or 1 and raises :class:`InvalidVersion` when either
string is not a version of that ecosystem, :class:`UnsupportedEcosystem` for an ecosystem
whose order is not known here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion as _PackagingInvalidVersion
from packaging.version import Version as Pep440Version

DPKG: Final = "dpkg"
PEP440: Final = "pep440"
SEMVER: Final = "semver"
APK: Final = "apk"
RPM: Final = "rpm"

SCHEMES: Final = (DPKG, PEP440, SEMVER, APK, RPM)


class InvalidVersion(ValueError):
    """A string that is not a version under the ecosystem's rules."""

    def __init__(self, scheme: str, version: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"not a valid {scheme} version: {version!r}{detail}")
        self.scheme = scheme
        self.version = version


class UnsupportedEcosystem(ValueError):
    """An ecosystem whose version order is not implemented."""

    def __init__(self, ecosystem: str) -> None:
        super().__init__(f"no version order known for ecosystem {ecosystem!r}")
        self.ecosystem = ecosystem


# OSV ecosystem names (the part before any ":<release>" suffix) to version schemes.
_ECOSYSTEM_SCHEMES: Final[dict[str, str]] = {
    "Debian": DPKG,
    "Ubuntu": DPKG,
    "PyPI": PEP440,
    "npm": SEMVER,
    "crates.io": SEMVER,
    "Go": SEMVER,
    "Hex": SEMVER,
    "Pub": SEMVER,
    "SwiftURL": SEMVER,
    "Alpine": APK,
    "Wolfi": APK,
    "Chainguard": APK,
    "Alpaquita": APK,
    "BellSoft Hardened Containers": APK,
    "Red Hat": RPM,
    "AlmaLinux": RPM,
    "Rocky Linux": RPM,
    "openSUSE": RPM,
    "SUSE": RPM,
    "Mageia": RPM,
    "Photon OS": RPM,
    "openEuler": RPM,
    "Azure Linux": RPM,
}


def ecosystem_base(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``; ``Alpine:v3.20`` -> ``Alpine``; ``PyPI`` -> ``PyPI``."""
    return ecosystem.split(":", 1)[0]


def scheme_for(ecosystem: str) -> str:
    """The version scheme of an OSV ecosystem, e.g. ``scheme_for("Debian:12") == "dpkg"``."""
    found = _ECOSYSTEM_SCHEMES.get(ecosystem_base(ecosystem))
    if found is None:
        raise UnsupportedEcosystem(ecosystem)
    return found


def compare(ecosystem: str, a: str, b: str) -> int:
    """Order two versions of a package in ``ecosystem``: -1 if a < b, 0 if equal, 1 if a > b."""
    return compare_scheme(scheme_for(ecosystem), a, b)


def compare_scheme(scheme: str, a: str, b: str) -> int:
    """Like :func:`compare`, naming the scheme (``"dpkg"``, ``"semver"``, ...) directly."""
    comparator = _COMPARATORS.get(scheme)
    if comparator is None:
        raise UnsupportedEcosystem(scheme)
    return comparator(a, b)


def is_valid(ecosystem: str, version: str) -> bool:
    """Whether ``version`` is a version of ``ecosystem`` (False for unknown ecosystems)."""
    try:
        compare(ecosystem, version, version)
    except (InvalidVersion, UnsupportedEcosystem):
        return False
    return True


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _keyed(key: Callable[[str], Any]) -> Callable[[str, str], int]:
    def comparator(a: str, b: str) -> int:
        ka, kb = key(a), key(b)
        return (ka > kb) - (ka < kb)  # type: ignore[no-any-return]

    return comparator


# -- dpkg --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _dpkg_key(version: str) -> DebianVersion:
    try:
        return DebianVersion(version)
    except ValueError as exc:
        raise InvalidVersion(DPKG, version) from exc


# -- PEP 440 -----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _pep440_key(version: str) -> Pep440Version:
    try:
        return Pep440Version(version)
    except _PackagingInvalidVersion as exc:
        raise InvalidVersion(PEP440, version) from exc


# -- SemVer 2.0.0 ------------------------------------------------------------------------------

_SEMVER_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

# A prerelease identifier's key: numeric identifiers sort numerically and below alphanumeric
# ones, which sort by ASCII. A version without a prerelease sorts above all its prereleases.
_PrereleaseId = tuple[int, int, str]
SemverKey = tuple[int, int, int, int, tuple[_PrereleaseId, ...]]


@lru_cache(maxsize=65536)
def semver_key(version: str) -> SemverKey:
    """SemVer 2.0.0 precedence as a sort key (build metadata is ignored). A leading ``v`` is
    accepted, as Go and npm write it."""
    match = _SEMVER_RE.match(version)
    if match is None:
        raise InvalidVersion(SEMVER, version)
    major, minor, patch, prerelease = (
        int(match[1]),
        int(match[2]),
        int(match[3]),
        match[4],
    )
    if prerelease is None:
        return (major, minor, patch, 1, ())
    ids = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split(".")
    )
    return (major, minor, patch, 0, ids)


# -- apk (apk-tools src/version.c) -------------------------------------------------------------

(
    _T_INITIAL_DIGIT,
    _T_DIGIT,
    _T_LETTER,
    _T_SUFFIX,
    _T_SUFFIX_NO,
    _T_COMMIT_HASH,
    _T_REVISION_NO,
    _T_END,
    _T_INVALID,
) = range(9)

_SUFFIX_NONE = 5
_APK_SUFFIXES: Final[dict[str, int]] = {
    "alpha": 1,
    "beta": 2,
    "pre": 3,
    "rc": 4,
    # 5: no suffix
    "cvs": 6,
    "svn": 7,
    "git": 8,
    "hg": 9,
    "p": 10,
}
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class _ApkToken:
    kind: int
    value: str = ""
    number: int = 0
    suffix: int = 0


def _span(text: str, start: int, allowed: frozenset[str]) -> int:
    end = start
    while end < len(text) and text[end] in allowed:
        end += 1
    return end


@lru_cache(maxsize=65536)
def _apk_tokens(version: str) -> tuple[_ApkToken, ...]:
    """The token stream apk-tools reads, ending with an END (valid) or INVALID token."""
    tokens: list[_ApkToken] = []
    end = _span(version, 0, _DIGITS)
    if end == 0:
        return (_ApkToken(_T_INVALID),)
    tokens.append(_ApkToken(_T_INITIAL_DIGIT, version[:end], int(version[:end])))
    pos = end
    kind = _T_INITIAL_DIGIT
    while True:
        if pos >= len(version):
            tokens.append(_ApkToken(_T_END))
            return tuple(tokens)
        char = version[pos]
        token: _ApkToken | None = None
        if char in _LOWER:
            if kind <= _T_DIGIT:
                token = _ApkToken(_T_LETTER, char)
                pos += 1
        elif char == "." or char in _DIGITS:
            if char == ".":
                if kind > _T_DIGIT:
                    tokens.append(_ApkToken(_T_INVALID))
                    return tuple(tokens)
                pos += 1
            new_kind = (
                _T_DIGIT
                if kind in (_T_INITIAL_DIGIT, _T_DIGIT)
                else _T_SUFFIX_NO
                if kind == _T_SUFFIX
                else _T_INVALID
            )
            end = _span(version, pos, _DIGITS)
            if new_kind != _T_INVALID and end > pos:
                token = _ApkToken(new_kind, version[pos:end], int(version[pos:end]))
                pos = end
        elif char == "_":
            if kind <= _T_SUFFIX_NO:
                end = _span(version, pos + 1, _LOWER)
                suffix = _APK_SUFFIXES.get(version[pos + 1 : end], 0)
                if suffix:
                    token = _ApkToken(_T_SUFFIX, version[pos + 1 : end], suffix=suffix)
                    pos = end
        elif char == "~":
            if kind < _T_COMMIT_HASH:
                end = _span(version, pos + 1, _HEX)
                if end > pos + 1:
                    token = _ApkToken(_T_COMMIT_HASH, version[pos + 1 : end])
                    pos = end
        elif char == "-" and kind < _T_REVISION_NO and version.startswith("-r", pos):
            end = _span(version, pos + 2, _DIGITS)
            if end > pos + 2:
                token = _ApkToken(
                    _T_REVISION_NO, version[pos + 2 : end], int(version[pos + 2 : end])
                )
                pos = end
        if token is None:
            tokens.append(_ApkToken(_T_INVALID))
            return tuple(tokens)
        tokens.append(token)
        kind = token.kind


def _blob_sort(a: str, b: str) -> int:
    # memcmp over the common length, then the shorter first: plain string order for ASCII.
    return (a > b) - (a < b)


def _apk_token_cmp(a: _ApkToken, b: _ApkToken) -> int:
    kind = a.kind
    if kind == _T_DIGIT and (a.value.startswith("0") or b.value.startswith("0")):
        # A leading zero makes apk compare the digits as strings (Gentoo's rule).
        return _blob_sort(a.value, b.value)
    if kind in (_T_INITIAL_DIGIT, _T_DIGIT, _T_SUFFIX_NO, _T_REVISION_NO):
        return _sign(a.number - b.number)
    if kind == _T_LETTER:
        return _blob_sort(a.value, b.value)
    if kind == _T_SUFFIX:
        return _sign(a.suffix - b.suffix)
    return _blob_sort(a.value, b.value)


def _apk_valid_tokens(version: str) -> tuple[_ApkToken, ...]:
    tokens = _apk_tokens(version)
    if tokens[-1].kind != _T_END:
        raise InvalidVersion(APK, version)
    return tokens


def apk_compare(a: str, b: str) -> int:
    """apk-tools' ``apk_version_compare`` for two valid apk versions."""
    ta_all, tb_all = _apk_valid_tokens(a), _apk_valid_tokens(b)
    index = 0
    while True:
        ta, tb = ta_all[index], tb_all[index]
        if ta.kind != tb.kind or ta.kind >= _T_END:
            break
        result = _apk_token_cmp(ta, tb)
        if result:
            return result
        index += 1
    if ta.kind == tb.kind:
        return 0
    # Equal so far: the longer version is greater unless what it continues with is a
    # pre-release suffix (_alpha, _beta, _pre, _rc).
    if ta.kind == _T_SUFFIX and ta.suffix < _SUFFIX_NONE:
        return -1
    if tb.kind == _T_SUFFIX and tb.suffix < _SUFFIX_NONE:
        return 1
    return -1 if ta.kind > tb.kind else 1


# -- rpm ---------------------------------------------------------------------------------------


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def rpmvercmp(a: str, b: str) -> int:
    """rpm's ``rpmvercmp`` (lib/rpmvercmp.c): alternating numeric and alphabetic segments,
    ``~`` sorting before everything (even the end), ``^`` after the end but before anything
    else."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _alnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (ca and cb):
            break
        if ca.isdigit():
            ei = i
            while ei < la and a[ei].isascii() and a[ei].isdigit():
                ei += 1
            ej = j
            while ej < lb and b[ej].isascii() and b[ej].isdigit():
                ej += 1
            numeric = True
        else:
            ei = i
            while ei < la and a[ei].isascii() and a[ei].isalpha():
                ei += 1
            ej = j
            while ej < lb and b[ej].isascii() and b[ej].isalpha():
                ej += 1
            numeric = False
        seg_a, seg_b = a[i:ei], b[j:ej]
        if not seg_b:
            # Different kinds of segment: numeric is newer than alphabetic.
            return 1 if numeric else -1
        if numeric:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
        i, j = ei, ej
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


_RPM_EPOCH = re.compile(r"[0-9]*")


@lru_cache(maxsize=65536)
def _rpm_evr(version: str) -> tuple[str, str, str | None]:
    """Split ``[epoch:]version[-release]`` as rpm's ``rpmverParse`` does: digits before the
    first ``:`` are the epoch (an empty or missing epoch is 0), the release starts after the
    last ``-`` (None without one)."""
    if not version or any(c.isspace() for c in version):
        raise InvalidVersion(RPM, version)
    epoch, colon, rest = version.partition(":")
    if not colon or not _RPM_EPOCH.fullmatch(epoch):
        # Only digits before the first ":" make an epoch; otherwise it is part of the version.
        epoch, rest = "0", version
    upstream, dash, release = rest.rpartition("-")
    if not dash:
        return epoch or "0", rest, None
    return epoch or "0", upstream, release


def rpm_compare(a: str, b: str) -> int:
    """``[epoch:]version[-release]`` as rpm (4.18) orders them: epochs, then versions, with
    ``rpmvercmp``; then releases when both have one, else the one with a release is later."""
    ea, va, ra = _rpm_evr(a)
    eb, vb, rb = _rpm_evr(b)
    result = rpmvercmp(ea, eb) or rpmvercmp(va, vb)
    if result or (ra is None and rb is None):
        return result
    if ra is not None and rb is not None:
        return rpmvercmp(ra, rb)
    return 1 if ra is not None else -1


_COMPARATORS: Final[dict[str, Callable[[str, str], int]]] = {
    DPKG: _keyed(_dpkg_key),
    PEP440: _keyed(_pep440_key),
    SEMVER: _keyed(semver_key),
    APK: apk_compare,
    RPM: rpm_compare,
}
