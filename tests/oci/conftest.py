"""Fixtures and markers for the OCI distribution-spec protocol tests.

Tests here use the ``registry`` fixture, so each runs against Dockyard and against CNCF
distribution 2.8 (Debian's docker-registry), the reference implementation. Tests decorated
with ``helpers.dockyard_only(reason)`` (marker ``skip_reference``) check v1.1 behaviour that
docker-registry 2.8 lacks, or limits that only Dockyard enforces (ECR's); their distribution
variant is skipped with that reason. (The marker name avoids the words "dockyard" and
"distribution" so that ``-k dockyard`` / ``-k distribution`` select by registry only.)
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "skip_reference(reason): not run against docker-registry 2.8 (it deviates; see reason)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("skip_reference")
        if marker is None:
            continue
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("registry") if callspec is not None else None
        if kind is not None and kind != "dockyard":
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"{kind}: {reason}"))
