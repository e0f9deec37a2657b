"""The one JSON parser for outside input: depth measured on the text, nothing escapes but
``JsonInvalid``."""

from __future__ import annotations

import pytest

from dockyard.domain.errors import JsonInvalid
from dockyard.domain.jsontext import MAX_DEPTH, nesting_depth, parse_json
from dockyard.scanning.inventory import parse_package_json
from tests.hardening.test_json_depth import DEEP, HUGE_NUMBER


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a":[{"b":{}}]}', 4),
        ('["[[[[", "\\"[["]', 1),  # brackets in strings, escaped quotes
        ('"unterminated [[[', 0),
        ("[" * DEEP, DEEP),
    ],
)
def test_nesting_depth(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_parse_json_refuses_what_json_loads_cannot_survive() -> None:
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    for bad in (
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b"[" * DEEP + b"]" * DEEP,
        b"{" + b'"a":{' * DEEP,
        HUGE_NUMBER,
        b'{"a": NaN}',
        b"\xff\xfe\x00",
        b"",
    ):
        with pytest.raises(JsonInvalid):
            parse_json(bad)


def test_a_scanned_package_json_nested_deeply_is_skipped_not_fatal() -> None:
    with pytest.raises(ValueError):  # the inventory notes the file and goes on
        parse_package_json(b'{"name":"x","version":"1","a":' + b"[" * DEEP + b"]" * DEEP + b"}")
