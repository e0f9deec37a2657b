"""Job kinds for the queue's own tests: payloads as the registry's are, handlers chosen per test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Chore:
    KIND: ClassVar[str] = "chore"
    fail: bool = False
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Errand:
    KIND: ClassVar[str] = "errand"
    fail: bool = False
    seconds: float = 0.0
