"""JSON from outside the server, parsed with a bound on how deeply it nests.

Python's ``json`` parser recurses once per level of nesting, and so does any code that walks
the result: a document of 100,000 nested arrays raises ``RecursionError`` (a 500, and in the
ECR API a ``ServerException`` that clients retry). Every JSON document the registry reads from
a request, an image or a data file goes through ``parse_json``, which measures the nesting on
the text first and refuses anything deeper than ``MAX_DEPTH`` before the parser sees it.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from dockyard.domain.errors import JsonInvalid

# The deepest document the registry reads legitimately (a lifecycle policy, an ECR request,
# an OSV record) nests about 6 levels; 64 leaves room for any honest producer and stays far
# below where Python's recursion limit (1,000 frames) is in reach.
MAX_DEPTH = 64

# Strings are skipped whole (brackets inside them do not nest); what is left of the text
# is reduced to its brackets, whose running sum is the nesting depth. An unterminated
# string takes the rest of the text with it (the second branch), so that no quote is ever
# scanned to the end twice: linear time on any input.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"|"[\s\S]*')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (0 for a scalar).

    Exact for valid JSON; for invalid JSON an estimate, which the parser then refuses anyway.
    Runs at regular-expression speed, without recursion, whatever the input.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse_json(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON ``data``, or ``JsonInvalid`` saying why there is none.

    Bytes may be UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32, as
    ``json.loads`` accepts them. ``NaN`` and ``Infinity`` are refused: they are not JSON.
    """
    try:
        text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise JsonInvalid(f"not valid {exc.encoding}: {exc.reason}") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JsonInvalid(f"nested {depth} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # unreachable under the bound; never let it out regardless
        raise JsonInvalid(f"nested too deeply; at most {max_depth} levels are accepted") from None
    except ValueError as exc:  # JSONDecodeError, and integers over Python's digit limit
        raise JsonInvalid(str(exc)) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
