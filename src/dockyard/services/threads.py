"""Running blocking metadata calls off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


async def quick_read(local: bool, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A short metadata read on the hot path (a pull's lookup): run right here when the
    database is local (``ContentStore.reads_are_local``), where the hop to a thread costs
    more than the read itself; in a thread otherwise, like every other call."""
    if local:
        return function(*args, **kwargs)
    return await asyncio.to_thread(function, *args, **kwargs)
