"""Repository names and tags.

Repository names follow the OCI grammar with ECR's limits (2-256 characters).
Tags follow OCI's grammar (at most 128 characters); ECR's API accepts up to 300,
which the ECR adapter will check on its own side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.domain.digests import Digest, is_digest
from dockyard.domain.errors import DigestInvalid, NameInvalid, ReferenceInvalid

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_CHARS = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]*$")
OCI_TAG_MAX, ECR_TAG_MAX = 128, 300
NAME_MIN, NAME_MAX = 2, 256


@dataclass(frozen=True, slots=True, order=True)
class RepositoryName:
    value: str

    @classmethod
    def parse(cls, text: str) -> RepositoryName:
        if not NAME_MIN <= len(text) <= NAME_MAX:
            raise NameInvalid(text, f"must be {NAME_MIN} to {NAME_MAX} characters long")
        if not _NAME.match(text):
            raise NameInvalid(
                text,
                "must be lowercase letters and digits in components separated by '/', "
                "with '.', '_', '__' or '-' between them",
            )
        return cls(text)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, order=True)
class Tag:
    value: str

    @classmethod
    def parse(cls, text: str, max_length: int = OCI_TAG_MAX) -> Tag:
        """OCI's grammar; the ECR API passes ``ECR_TAG_MAX`` for its longer limit."""
        if len(text) > max_length or not _TAG_CHARS.match(text):
            raise ReferenceInvalid(text)
        return cls(text)

    def __str__(self) -> str:
        return self.value


Reference = Tag | Digest


def parse_reference(text: str) -> Reference:
    """A manifest reference to write: a digest when it has an algorithm prefix, else a tag.

    Invalid text is the client's error (a push of it is refused)."""
    if is_digest(text):
        return Digest.parse(text)
    return Tag.parse(text)


def lookup_reference(text: str) -> Reference | None:
    """A manifest reference to read or delete; None when the text is neither a valid tag nor a
    digest the registry stores content under.

    Nothing can ever have been stored under such text, so a lookup of it simply finds nothing
    (404 MANIFEST_UNKNOWN, as the distribution spec requires of GET, HEAD and DELETE), while
    ``parse_reference`` refuses the same text on a push.
    """
    try:
        return parse_reference(text)
    except (ReferenceInvalid, DigestInvalid):
        return None
