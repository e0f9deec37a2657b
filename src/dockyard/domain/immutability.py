"""Tag immutability as ECR defines it.

``MUTABLE`` and ``IMMUTABLE`` apply to every tag; the ``*_WITH_EXCLUSION`` variants
flip the rule for tags matching any of up to five wildcard filters (``*`` matches
any run of characters, including none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dockyard.domain.wildcards import matches


class TagMutability(StrEnum):
    MUTABLE = "MUTABLE"
    IMMUTABLE = "IMMUTABLE"
    IMMUTABLE_WITH_EXCLUSION = "IMMUTABLE_WITH_EXCLUSION"
    MUTABLE_WITH_EXCLUSION = "MUTABLE_WITH_EXCLUSION"


MAX_FILTERS = 5
_FILTER = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")


@dataclass(frozen=True, slots=True)
class MutabilityRule:
    mutability: TagMutability = TagMutability.MUTABLE
    filters: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """What is wrong with this rule, as ECR would say it; empty when it is valid."""
        found: list[str] = []
        with_exclusion = self.mutability in (
            TagMutability.IMMUTABLE_WITH_EXCLUSION,
            TagMutability.MUTABLE_WITH_EXCLUSION,
        )
        if with_exclusion and not self.filters:
            found.append(f"{self.mutability} requires at least one exclusion filter")
        if not with_exclusion and self.filters:
            found.append(
                f"exclusion filters are only allowed with {self.mutability}_WITH_EXCLUSION"
            )
        if len(self.filters) > MAX_FILTERS:
            found.append(f"at most {MAX_FILTERS} exclusion filters are allowed")
        found += [f"invalid filter {f!r}" for f in self.filters if not _FILTER.match(f)]
        return found

    def is_immutable(self, tag: str) -> bool:
        excluded = any(matches(tag, f) for f in self.filters)
        match self.mutability:
            case TagMutability.MUTABLE:
                return False
            case TagMutability.IMMUTABLE:
                return True
            case TagMutability.IMMUTABLE_WITH_EXCLUSION:
                return not excluded
            case TagMutability.MUTABLE_WITH_EXCLUSION:
                return excluded
