"""A process keeps one upstream client per pull-through rule: updating a rule (a new
credential) replaces its client rather than adding one beside it for good."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dockyard.app import open_registry
from dockyard.config import load_settings
from dockyard.domain.cache_rules import CacheRule, resolve_upstream
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Scope


def test_an_updated_rule_replaces_its_client(tmp_path: Path) -> None:
    registry = open_registry(load_settings({"data_dir": tmp_path}, environ={}))
    try:
        upstreams = registry.pullthrough._upstreams
        scope = Scope("000000000000", "us-east-1")
        created = datetime(2026, 1, 1, tzinfo=UTC)
        rule = CacheRule(
            "mirror", resolve_upstream("http://127.0.0.1:9", None), None, None, None, created,
            created,
        )  # fmt: skip
        other = dataclasses.replace(rule, prefix="other")
        name = RepositoryName.parse("mirror/app")

        async def scenario() -> None:
            first = await upstreams.of(scope, rule, name)
            assert (await upstreams.of(scope, rule, name)).client is first.client
            latest = first
            for n in range(1, 6):  # five updates of the rule
                updated = dataclasses.replace(rule, updated_at=created + timedelta(seconds=n))
                latest = await upstreams.of(scope, updated, name)
                assert latest.client is not first.client
            await upstreams.of(scope, other, RepositoryName.parse("other/app"))
            assert len(upstreams._clients) == 2
            assert upstreams._clients[(scope, "mirror")][2] is latest.client

        asyncio.run(scenario())
    finally:
        registry.close()
