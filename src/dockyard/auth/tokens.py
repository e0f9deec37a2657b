"""Registry passwords (GetAuthorizationToken), bearer tokens and signed download URLs.

Both are HMAC-SHA256 over a small JSON payload with a server key kept outside the
database; the server checks them without storing them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any

from dockyard.domain.errors import DockyardError


class TokenInvalid(DockyardError):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return f"authorization token is not valid: {self.reason}"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    purpose: str  # "login", "bearer" or "download"
    subject: str  # the access key id (login, bearer) or "<account>/<region>/<repository>@<digest>"
    expires_at: float  # epoch seconds
    # A login or bearer token's registry region (the account is its key's); tokens issued
    # before regions existed have none, and stand for the default region.
    region: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, claims: TokenClaims) -> str:
    fields = {k: v for k, v in asdict(claims).items() if v is not None}
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def read(key: bytes, token: str, purpose: str, now: float) -> TokenClaims:
    # Tokens arrive from headers and URLs as text that may hold any character; an issued
    # token is ASCII, and compare_digest refuses (TypeError) to compare anything else.
    if not token.isascii():
        raise TokenInvalid("malformed")
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(expected, signature):
        raise TokenInvalid("bad signature")
    try:
        fields: dict[str, Any] = json.loads(_unb64(payload))
        claims = TokenClaims(
            purpose=str(fields["purpose"]),
            subject=str(fields["subject"]),
            expires_at=float(fields["expires_at"]),
            region=None if fields.get("region") is None else str(fields["region"]),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenInvalid("malformed") from None
    if claims.purpose != purpose:
        raise TokenInvalid("wrong purpose")
    if claims.expires_at <= now:
        raise TokenInvalid("expired")
    return claims
