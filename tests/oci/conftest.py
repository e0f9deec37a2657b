"""Fixtures and markers for the OCI distribution-spec protocol tests.

Tests here use the ``registry`` fixture, so each runs against Dockyard and against CNCF
distribution 2.8 (Debian's docker-registry), the reference implementation. Tests decorated
with ``helpers.dockyard_only(reason)`` (marker ``skip_reference``) check v1.1 behaviour that
docker-registry 2.8 lacks, or limits that only Dockyard enforces (ECR's); their distribution
variant is deselected (counted in the terminal summary). (The marker name avoids the words
"dockyard" and "distribution" so that ``-k dockyard`` / ``-k distribution`` select by registry
only.)
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "skip_reference(reason): not run against docker-registry 2.8 (it deviates; see reason)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The reference registry's runs of these tests would only ever be skipped, which
    # reads like missing coverage; leave them out and say so once instead.
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("skip_reference")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("registry") if callspec is not None else None
        if marker is not None and kind is not None and kind != "dockyard":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config.stash[_DROPPED] = len(dropped)


_DROPPED = pytest.StashKey[int]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    dropped = config.stash.get(_DROPPED, 0)
    if dropped:
        terminalreporter.write_line(
            f"{dropped} docker-registry runs of Dockyard-only OCI tests deselected "
            "(docker-registry 2.8 lacks those v1.1 features; reasons in tests/oci)"
        )
