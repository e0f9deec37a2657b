"""``*`` wildcards over tags (immutability exclusions, lifecycle tag patterns).

A ``*`` matches any run of characters, including none. Patterns compile so that
matching stays linear: each middle segment is found at its leftmost place and
the choice committed (an atomic group), which is exact for ``*``-only globs,
while the plain ``.*`` translation backtracks badly on ``*a*a*a*ab``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def glob_source(pattern: str) -> str:
    """Regex source matching one line that is a tag fitting ``pattern``."""
    segments = pattern.split("*")
    if len(segments) == 1:
        return "^" + re.escape(pattern) + "$"
    head, *middle, tail = segments
    source = "^" + re.escape(head)
    for segment in middle:
        if segment:
            source += "(?>[^\n]*?" + re.escape(segment) + ")"
    return source + "[^\n]*" + re.escape(tail) + "$"


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_source(pattern))


def matches(tag: str, pattern: str) -> bool:
    return compiled(pattern).match(tag) is not None
