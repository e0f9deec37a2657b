"""Fixtures and markers for the OCI distribution-spec protocol tests.

Tests here use the ``registry`` fixture, so each runs against Dockyard and against CNCF
distribution 2.8 (Debian's docker-registry), the reference implementation. Tests marked
``dockyard_only(reason=...)`` check v1.1 behaviour that docker-registry 2.8 lacks, or limits
that only Dockyard enforces (ECR's); their distribution variant is skipped with that reason.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dockyard_only(reason): spec behaviour docker-registry 2.8 lacks; runs on Dockyard only",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("dockyard_only")
        if marker is None:
            continue
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("registry") if callspec is not None else None
        if kind is not None and kind != "dockyard":
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"{kind}: {reason}"))
