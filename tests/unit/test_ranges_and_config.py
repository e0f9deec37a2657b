"""Byte ranges and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.config import ConfigError, load_settings
from dockyard.domain.errors import RangeNotSatisfiable
from dockyard.services.blobs import parse_range


def test_ranges() -> None:
    assert (parse_range("bytes=0-9", 100).start, parse_range("bytes=0-9", 100).end) == (0, 9)
    assert parse_range("bytes=90-", 100).length == 10
    assert parse_range("bytes=-5", 100).start == 95
    assert parse_range("bytes=50-1000", 100).end == 99
    for bad in ["bytes=100-", "bytes=5-1", "items=0-1", "bytes=0-1,3-4", "bytes=a-b", "bytes=-0"]:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(bad, 100)


@given(st.integers(1, 10_000), st.integers(0, 20_000), st.integers(0, 20_000))
def test_a_satisfiable_range_lies_inside_the_blob(size: int, a: int, b: int) -> None:
    try:
        r = parse_range(f"bytes={a}-{b}", size)
    except RangeNotSatisfiable:
        assert a > b or a >= size
    else:
        assert 0 <= r.start <= r.end < size and r.length == min(b, size - 1) - a + 1


def test_settings_precedence(tmp_path: Path) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text('port = 6000\nregion = "eu-west-1"\naccount_id = "111111111111"\n')
    env = {"DOCKYARD_PORT": "7000", "DOCKYARD_CREATE_ON_PUSH": "false"}
    settings = load_settings({"region": "ap-south-1"}, config, env)
    assert settings.port == 7000  # env beats the file
    assert settings.region == "ap-south-1"  # the command line beats everything
    assert settings.account_id == "111111111111"
    assert settings.create_on_push is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DOCKYARD_PORT": "eighty"}, "port"),
        ({"DOCKYARD_ACCOUNT_ID": "123"}, "account_id"),
        ({"DOCKYARD_REGION": "mars"}, "region"),
        ({"DOCKYARD_CREATE_ON_PUSH": "maybe"}, "create_on_push"),
    ],
)
def test_bad_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, None, env)


def test_unknown_keys_in_the_config_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings({}, config, {})
