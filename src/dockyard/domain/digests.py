"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from dockyard.domain.errors import DigestInvalid

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        if not _GRAMMAR.match(text):
            raise DigestInvalid(text, "not a digest")
        algorithm, _, hex_part = text.partition(":")
        expected = _HEX_LENGTH.get(algorithm)
        if expected is None:
            raise DigestInvalid(text, f"unsupported algorithm {algorithm!r}")
        if len(hex_part) != expected or not re.fullmatch(r"[a-f0-9]+", hex_part):
            raise DigestInvalid(text, f"{algorithm} needs {expected} lowercase hex digits")
        return cls(algorithm, hex_part)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        hasher = new_hasher(algorithm)
        hasher.update(data)
        return cls(algorithm, hasher.hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def new_hasher(algorithm: str = "sha256") -> Hasher:
    if algorithm not in _HEX_LENGTH:
        raise DigestInvalid(algorithm, f"unsupported algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def is_digest(text: str) -> bool:
    return ":" in text


def lookup_digest(text: str) -> Digest | None:
    """The digest a read or delete names; None when no content can be stored under the text
    (malformed, or an algorithm this registry does not hash with): such a lookup finds nothing,
    where an upload naming it is refused as invalid."""
    try:
        return Digest.parse(text)
    except DigestInvalid:
        return None
