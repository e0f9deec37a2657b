"""The verified keys a server process remembers stay bounded: every STS session signs with
a key id of its own, so a long-lived worker sees ids it will never see again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.app import open_registry
from dockyard.config import load_settings
from dockyard.services import identity as identity_module


def _credential(key_id: str) -> Any:
    return identity_module._Credential(principal=object(), access_key_id=key_id, secret="s")  # type: ignore[arg-type]


def test_a_process_keeps_a_bounded_number_of_verified_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = open_registry(load_settings({"data_dir": tmp_path}, environ={}))
    try:
        identity = registry.identity
        monkeypatch.setattr(identity_module, "_CACHE_MOST", 3)
        clock = [1000.0]
        monkeypatch.setattr(time, "monotonic", lambda: clock[0])
        for n in range(3):
            identity._remember(f"ASIA{n}", 0, _credential(f"ASIA{n}"))
        assert len(identity._cache) == 3
        clock[0] += 2 * identity_module._CACHE_SECONDS  # all three stale now
        identity._remember("ASIA3", 0, _credential("ASIA3"))
        assert set(identity._cache) == {"ASIA3"}
        for n in range(4, 12):  # none stale: still no more than the bound
            identity._remember(f"ASIA{n}", 0, _credential(f"ASIA{n}"))
            assert len(identity._cache) <= 3
        assert "ASIA11" in identity._cache
    finally:
        registry.close()
