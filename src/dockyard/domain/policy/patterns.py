"""Wildcards and policy variables, as IAM matches actions, ARNs and strings.

A pattern is first *resolved*: its ``${...}`` policy variables are replaced by values from the
request (``${*}``, ``${?}`` and ``${$}`` by a literal ``*``, ``?`` and ``$``). The result is a
tuple of pieces, literal text or a wildcard, so that a ``*`` a variable put in never acts as
a wildcard. Matching compiles the pieces to a regular expression in which every ``*`` but the
last is an atomic group that takes the leftmost place its following segment fits: exact for
``*``/``?`` globs (segments are fixed-length), and linear where ``.*`` would backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

STAR = 0  # ``*``: any run of characters, including none
ONE = 1  # ``?``: any one character
Piece = str | int
Pattern = tuple[Piece, ...]

# ``${key}`` or ``${key, 'default'}`` (IAM's default-value form); no nesting, no braces inside.
_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_DEFAULT = re.compile(r"\s*([^,\s][^,]*?)\s*,\s*'([^']*)'\s*")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}

Lookup = Callable[[str], str | None]


def _glob_pieces(text: str) -> list[Piece]:
    pieces: list[Piece] = []
    literal = ""
    for char in text:
        if char in "*?":
            if literal:
                pieces.append(literal)
                literal = ""
            pieces.append(STAR if char == "*" else ONE)
        else:
            literal += char
    if literal:
        pieces.append(literal)
    return pieces


def resolve(text: str, lookup: Lookup | None) -> Pattern | None:
    """``text`` as pattern pieces with its variables replaced through ``lookup``; None when a
    variable has no value (the element that holds it then matches nothing). With no
    ``lookup`` (a 2008-10-17 policy) ``${...}`` is plain text, as AWS reads it there."""
    if lookup is None or "${" not in text:
        return tuple(_glob_pieces(text))
    pieces: list[Piece] = []
    end = 0
    for found in _VARIABLE.finditer(text):
        pieces += _glob_pieces(text[end : found.start()])
        end = found.end()
        inside = found.group(1)
        if inside in _ESCAPES:
            pieces.append(_ESCAPES[inside])
            continue
        default = _DEFAULT.fullmatch(inside)
        key, fallback = (default.group(1), default.group(2)) if default else (inside.strip(), None)
        value = lookup(key)
        if value is None:
            value = fallback
        if value is None:
            return None
        pieces.append(value)
    pieces += _glob_pieces(text[end:])
    return tuple(pieces)


def literal(pattern: Pattern) -> str | None:
    """The one string ``pattern`` matches when it has no wildcard, else None."""
    if any(isinstance(piece, int) for piece in pattern):
        return None
    return "".join(piece for piece in pattern if isinstance(piece, str))


def _segment_source(pieces: list[Piece]) -> str:
    return "".join("." if piece == ONE else re.escape(str(piece)) for piece in pieces)


@lru_cache(maxsize=4096)
def compiled(pattern: Pattern, ignore_case: bool) -> re.Pattern[str]:
    segments: list[list[Piece]] = [[]]
    for piece in pattern:
        if piece == STAR and isinstance(piece, int):
            segments.append([])
        else:
            segments[-1].append(piece)
    source = _segment_source(segments[0])
    if len(segments) > 1:
        for segment in segments[1:-1]:
            if segment:
                source += "(?>.*?" + _segment_source(segment) + ")"
        source += ".*" + _segment_source(segments[-1])
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source + r"\Z", flags)


def matches(value: str, pattern: Pattern, *, ignore_case: bool = False) -> bool:
    return compiled(pattern, ignore_case).match(value) is not None


def _split_colons(pattern: Pattern, parts: int) -> list[Pattern]:
    """``pattern`` cut at its first ``parts - 1`` literal colons."""
    out: list[list[Piece]] = [[]]
    for piece in pattern:
        if isinstance(piece, int) or len(out) == parts:
            out[-1].append(piece)
            continue
        chunks = piece.split(":", parts - len(out))
        for i, chunk in enumerate(chunks):
            if i:
                out.append([])
            if chunk:
                out[-1].append(chunk)
    return [tuple(segment) for segment in out]


def arn_matches(value: str, pattern: Pattern) -> bool:
    """IAM's ARN match (Resource, ArnLike, ArnEquals): case-sensitive, and each of the six
    colon-separated parts matched on its own, so a ``*`` never spans a colon except in the
    last part given (``*`` alone, or ``arn:aws:ecr:*`` naming a shorter prefix, take the rest)."""
    segments = _split_colons(pattern, 6)
    parts = value.split(":", len(segments) - 1)
    if len(parts) != len(segments):
        return False
    return all(matches(part, segment) for part, segment in zip(parts, segments, strict=True))
