"""Describe-by-name for the registry's named settings (cache rules, external registries):
the names asked for must all exist, and the answer is paged like a listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["named_page"]

T = TypeVar("T")


def named_page(
    found: Sequence[T],
    wanted: Sequence[str],
    name_of: Callable[[T], str],
    missing: Callable[[str], Exception],
    after: str | None,
    limit: int | None,
) -> list[T]:
    """Of ``found`` (what the store holds of the ``wanted`` names), the page after
    ``after`` in byte order; ``missing(name)`` is raised for the first name not held."""
    held = {name_of(item) for item in found}
    for name in wanted:
        if name not in held:
            raise missing(name)
    page = [item for item in found if after is None or name_of(item).encode() > after.encode()]
    return page if limit is None else page[:limit]
