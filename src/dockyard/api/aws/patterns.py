"""The model's regexes: Java patterns, matched the way Java matches them.

The model's patterns are Java regexes, matched against the whole value (``Pattern.matches``),
so we ``fullmatch``. They compile with ``re.ASCII`` because Java's ``\\w``, ``\\d``, ``\\s``
and ``\\S`` are ASCII-only by default. ``translate_pattern`` also rewrites Java-only syntax
(``\\z``, ``(?<name>``, ``\\Q...\\E``, ``\\p{Posix}`` classes, the Unicode categories ``\\p{L}``
that IAM's tag patterns use) should a model use it,
and ``PATTERN_REWRITES`` replaces patterns that backtrack exponentially in Python's engine
with equivalent linear ones.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable

__all__ = ["PATTERN_REWRITES", "check_pattern", "compile_pattern", "translate_pattern"]

#: Model patterns that backtrack exponentially in Python's ``re`` (and in Java's), mapped to
#: equivalent patterns that don't. Equivalence is property-tested.
PATTERN_REWRITES: dict[str, str] = {
    # ScanningRepositoryFilterValue. `(?:S?A+)*` with S overlapping A is exponential on
    # "aaaa...!". The language: starts and ends with [a-z0-9*], separators [._\-/] never
    # adjacent -- which `(?:[._\-/]?[a-z0-9*])*` says with disjoint classes.
    r"^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$": r"^[a-z0-9*](?:[._\-/]?[a-z0-9*])*$",
}

_POSIX_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_POSIX_RE = re.compile(r"\\([pP])\{(?:Is)?([A-Za-z]+)\}")


# Unicode's general categories (fixed by the standard: Lu, Ll... Cn), and the major
# classes alone (L, M...).
_MINOR_CATEGORIES = {"L": "ultmo", "M": "nce", "N": "dlo", "P": "cdseifo", "S": "mcko"}
_MINOR_CATEGORIES |= {"Z": "slp", "C": "cfson"}
_CATEGORIES = frozenset(
    major + minor for major, minors in _MINOR_CATEGORIES.items() for minor in ("", *minors)
)


@functools.cache
def _category_runs() -> tuple[tuple[str, int, int], ...]:
    """Every code point's general category as runs (category, first, last). One pass
    driven from C (a loop in Python took 0.4 s for IAM's three classes), made once."""
    runs: list[tuple[str, int, int]] = []
    first = 0
    every = map(unicodedata.category, map(chr, range(sys.maxunicode + 1)))
    for category, run in itertools.groupby(every):
        length = len(list(run))
        runs.append((category, first, first + length - 1))
        first += length
    return tuple(runs)


@functools.cache
def _category_class(category: str) -> str:
    """Java's ``\\p{L}``, ``\\p{Lu}``... (Unicode general categories, Unicode whatever the
    flags) as the body of a Python character class; "" for an unknown category."""
    if category not in _CATEGORIES:
        return ""
    ranges: list[tuple[int, int]] = []
    for found, low, high in _category_runs():
        if found.startswith(category):
            if ranges and ranges[-1][1] == low - 1:
                ranges[-1] = (ranges[-1][0], high)
            else:
                ranges.append((low, high))
    return "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )


def _category_stand_in(category: str) -> str:
    return "a" if category in _CATEGORIES else ""


def translate_pattern(pattern: str, category_class: Callable[[str], str] = _category_class) -> str:
    """A Java regex as an equivalent Python regex (to compile with ``re.ASCII``);
    ``category_class`` gives the body of a Unicode category's class."""
    if pattern in PATTERN_REWRITES:
        return PATTERN_REWRITES[pattern]
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E quotes literally
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
                continue
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Z":  # Java: end, or before a final line terminator
                out.append("(?=\\n?\\Z)")
            elif nxt in "pP":
                m = _POSIX_RE.match(pattern, i)
                if m is None:
                    raise ValueError(f"unsupported Java class at {i} in {pattern!r}")
                body = _POSIX_CLASSES.get(m.group(2)) or category_class(m.group(2))
                if not body:
                    raise ValueError(f"unsupported Java class at {i} in {pattern!r}")
                negated = m.group(1) == "P"
                if in_class and negated:
                    raise ValueError(f"negated class inside a class in {pattern!r}")
                out.append(body if in_class else f"[{'^' if negated else ''}{body}]")
                i = m.end()
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "&" and pattern.startswith("&&", i):
                raise ValueError(f"class intersection is not supported: {pattern!r}")
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A leading ']' (or '^]') is literal in both dialects.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        elif c == "(" and pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def check_pattern(pattern: str) -> None:
    """Raise ``ValueError`` or ``re.error`` unless ``pattern`` translates and compiles.
    Cheap enough for every pattern of a model at load: a Unicode category stands in as
    one letter, so its code points are only gathered when a value is first matched."""
    re.compile(translate_pattern(pattern, _category_stand_in), re.ASCII)


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The model ``pattern`` compiled for ``fullmatch`` with Java's semantics."""
    return re.compile(translate_pattern(pattern), re.ASCII)
