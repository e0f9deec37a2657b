"""What a blob store accepts as a name, checked the same way by every backend.

A ``Digest`` can be built without parsing, and a store turns names into paths or
object keys, so each store checks them itself rather than trusting the caller.
"""

from __future__ import annotations

import re

from dockyard.domain.digests import Digest

_UPLOAD_ID = re.compile(r"[A-Za-z0-9-]{1,128}")


def checked_digest(digest: Digest) -> Digest:
    """``digest`` when it is a digest the registry stores content under; else DigestInvalid."""
    return Digest.parse(str(digest))


def is_upload_id(text: str) -> bool:
    """Whether ``text`` is 1-128 letters, digits and dashes: a name an upload can have."""
    return _UPLOAD_ID.fullmatch(text) is not None


def checked_upload_id(upload_id: str) -> str:
    """``upload_id`` when it is a name an upload can have; else ValueError."""
    if not is_upload_id(upload_id):
        raise ValueError(f"bad upload id {upload_id!r}")
    return upload_id
