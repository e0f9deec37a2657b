"""Which creation template applies to a repository name (``domain.templates``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.domain.names import RepositoryName
from dockyard.domain.templates import (
    AppliedFor,
    CreationTemplate,
    TemplateSettings,
    applies_to,
    best_template,
    normalize_prefix,
)

PUSH, REPLICATION = AppliedFor.CREATE_ON_PUSH, AppliedFor.REPLICATION
EPOCH = datetime.fromtimestamp(0, UTC)


def template(prefix: str, *uses: AppliedFor) -> CreationTemplate:
    return CreationTemplate(prefix, TemplateSettings(applied_for=uses or (PUSH,)), EPOCH, EPOCH)


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("prod", "prod/app", True),
        ("prod", "prod/team/app", True),
        ("prod/team", "prod/team/app", True),
        # ECR assumes a "/" after the prefix: a path boundary, not a string prefix.
        ("prod", "prod", False),
        ("prod", "production/app", False),
        ("prod/team", "prod/teams/app", False),
        ("ROOT", "anything", True),
        ("ROOT", "a/b/c", True),
    ],
)
def test_a_prefix_applies_at_a_path_boundary(prefix: str, name: str, expected: bool) -> None:
    assert applies_to(prefix, RepositoryName(name)) is expected


def test_a_trailing_slash_names_the_same_prefix() -> None:
    assert normalize_prefix("prod/") == "prod"
    assert normalize_prefix("prod/team/") == "prod/team"
    assert normalize_prefix("prod") == "prod"
    assert normalize_prefix("ROOT") == "ROOT"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prod/team/app", "prod/team"),  # the longest prefix wins
        ("prod/other", "prod"),
        ("prod", "ROOT"),  # the prefix itself is not under it
        ("dev/app", "ROOT"),
        ("mirror/app", "ROOT"),  # mirror's template is for replication only
    ],
)
def test_the_longest_prefix_wins_and_root_takes_the_rest(name: str, expected: str) -> None:
    templates = [
        template("ROOT"),
        template("prod"),
        template("prod/team"),
        template("mirror", REPLICATION),
    ]
    found = best_template(templates, RepositoryName(name), PUSH)
    assert found is not None and found.prefix == expected


def test_nothing_applies_without_a_template_for_the_use() -> None:
    templates = [template("ROOT", REPLICATION), template("prod", REPLICATION)]
    assert best_template(templates, RepositoryName("prod/app"), PUSH) is None
    found = best_template(templates, RepositoryName("prod/app"), REPLICATION)
    assert found is not None and found.prefix == "prod"
    assert best_template([template("prod")], RepositoryName("dev/app"), PUSH) is None
