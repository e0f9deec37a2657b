"""Who is calling: credentials, SigV4 checks, registry passwords and bearer tokens.

Secret keys are stored encrypted (``SecretBox``) and kept decrypted only in a
short-lived in-process cache; a disabled or deleted key stops working within
that cache's lifetime on other nodes and at once on this one.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.auth import sigv4, tokens
from dockyard.auth.keys import SecretBox
from dockyard.domain.errors import DockyardError, InvalidRequest
from dockyard.domain.identity import AccessKey, Caller, KeyStatus, Principal, PrincipalKind
from dockyard.metadata import IdentityStore
from dockyard.services.threads import blocking

TOKEN_LIFETIME = 12 * 3600
# Bearer tokens exist for clients that insist on the token flow (oras-py's default
# backend). Each use still checks the key, so the lifetime only bounds a leaked token;
# an hour covers a long push by a client that never asks again (oras-py refreshes a
# token on 403 only, and a 401 is the answer for an expired one).
BEARER_LIFETIME = 3600
_CACHE_SECONDS = 1.0
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class Unauthenticated(DockyardError):
    """A registry request without valid credentials."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class NewKey:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"NewKey(access_key_id={self.access_key_id!r}, secret_access_key=<hidden>)"


@dataclass(frozen=True, slots=True)
class BearerToken:
    token: str = field(repr=False)
    issued_at: datetime
    expires_in: int  # seconds


def new_key() -> NewKey:
    access_key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    return NewKey(access_key_id, secrets.token_urlsafe(30)[:40])


class Identity:
    def __init__(self, store: IdentityStore, box: SecretBox, token_key: bytes, region: str) -> None:
        self._store = store
        self._box = box
        self._token_key = token_key
        self.region = region
        self._cache: dict[str, tuple[float, AccessKey, str]] = {}

    # Accounts and keys (also used by the CLI) ------------------------------

    def bootstrap(self, account_id: str, root_key: NewKey | None) -> NewKey | None:
        """Make the account and give its root a key; returns a key made here, to show once."""
        self._store.ensure_account(account_id)
        root = Principal(account_id, "root", PrincipalKind.ROOT)
        if self._store.keys(root):
            return None
        key = root_key or new_key()
        self._store.add_key(root, key.access_key_id, self._box.seal(key.secret_access_key))
        return None if root_key else key

    def create_user(self, account_id: str, name: str) -> Principal:
        if not name or len(name) > 64 or not all(c.isalnum() or c in "+=,.@_-" for c in name):
            raise InvalidRequest(f"invalid user name {name!r}")
        self._store.ensure_account(account_id)
        return self._store.create_user(account_id, name)

    def create_key(self, principal: Principal) -> NewKey:
        key = new_key()
        self._store.add_key(principal, key.access_key_id, self._box.seal(key.secret_access_key))
        return key

    def delete_user(self, account_id: str, name: str) -> bool:
        self._cache.clear()
        return self._store.delete_user(account_id, name)

    def set_key_status(self, access_key_id: str, status: KeyStatus) -> bool:
        self._cache.pop(access_key_id, None)
        return self._store.set_key_status(access_key_id, status)

    def delete_key(self, access_key_id: str) -> bool:
        self._cache.pop(access_key_id, None)
        return self._store.delete_key(access_key_id)

    def principals(self, account_id: str) -> list[Principal]:
        return self._store.principals(account_id)

    def keys(self, principal: Principal) -> list[AccessKey]:
        return self._store.keys(principal)

    # Authentication --------------------------------------------------------

    async def precheck(self, request: sigv4.ReceivedRequest, service: str) -> None:
        """Everything ``authenticate`` checks that needs neither the body nor the signature:
        the credentials' form, an active access key, scope and clock. Run before reading a
        body, so that requests that cannot be genuine are refused before they cost memory."""
        signed = sigv4.parse_authorization(request)
        await self._signing_key(signed)
        sigv4.check_claims(signed, datetime.now(UTC), region=self.region, service=service)

    async def authenticate(self, request: sigv4.ReceivedRequest, service: str) -> Caller:
        signed = sigv4.parse_authorization(request)
        key, secret = await self._signing_key(signed)
        sigv4.verify(
            signed, request, secret, datetime.now(UTC), region=self.region, service=service
        )
        return Caller(key.principal, key.access_key_id)

    async def _signing_key(self, signed: sigv4.SignedRequest) -> tuple[AccessKey, str]:
        if signed.security_token is not None:
            # Dockyard issues no session credentials, so no session token can be valid.
            raise sigv4.UnknownAccessKey(signed.access_key_id)
        return await self._active_key(signed.access_key_id)

    def login_password(self, caller: Caller) -> tuple[str, datetime]:
        expires = time.time() + TOKEN_LIFETIME
        claims = tokens.TokenClaims("login", caller.access_key_id, expires)
        return tokens.issue(self._token_key, claims), datetime.fromtimestamp(expires, UTC)

    async def check_password(self, password: str) -> Caller:
        return (await self._check_token(password, "login"))[0]

    async def exchange_password(self, password: str) -> BearerToken:
        """A bearer token for the caller a registry password names (distribution token auth).

        It names the same access key, so it carries the same rights and stops working
        with the key; it outlives neither BEARER_LIFETIME nor the password it came from.
        """
        caller, claims = await self._check_token(password, "login")
        now = time.time()
        expires = min(now + BEARER_LIFETIME, claims.expires_at)
        token = tokens.issue(
            self._token_key, tokens.TokenClaims("bearer", caller.access_key_id, expires)
        )
        return BearerToken(token, datetime.fromtimestamp(now, UTC), int(expires - now))

    async def check_bearer(self, token: str) -> Caller:
        return (await self._check_token(token, "bearer"))[0]

    async def _check_token(self, token: str, purpose: str) -> tuple[Caller, tokens.TokenClaims]:
        try:
            claims = tokens.read(self._token_key, token, purpose, time.time())
        except tokens.TokenInvalid as exc:
            raise Unauthenticated(exc.describe()) from None
        try:
            key, _ = await self._active_key(claims.subject)
        except sigv4.UnknownAccessKey:
            raise Unauthenticated("the key this token was issued for is gone or disabled") from None
        return Caller(key.principal, key.access_key_id), claims

    async def _active_key(self, access_key_id: str) -> tuple[AccessKey, str]:
        cached = self._cache.get(access_key_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], cached[2]
        found = await blocking(self._store.key, access_key_id)
        if found is None or found[0].status is not KeyStatus.ACTIVE:
            self._cache.pop(access_key_id, None)
            raise sigv4.UnknownAccessKey(access_key_id)
        key, ciphertext = found
        secret = self._box.open(ciphertext)
        self._cache[access_key_id] = (time.monotonic() + _CACHE_SECONDS, key, secret)
        return key, secret

    # Signed download URLs -------------------------------------------------

    def download_token(self, subject: str, lifetime: float) -> str:
        return tokens.issue(
            self._token_key, tokens.TokenClaims("download", subject, time.time() + lifetime)
        )

    def read_download_token(self, token: str) -> str:
        return tokens.read(self._token_key, token, "download", time.time()).subject
