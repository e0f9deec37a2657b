"""Who is calling: credentials, SigV4 checks, registry passwords and bearer tokens.

Secret keys are stored encrypted (``SecretBox``) and kept decrypted only in a
short-lived in-process cache; a disabled or deleted key stops working within
that cache's lifetime on other nodes and at once on this one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.auth import sigv4, tokens
from dockyard.auth.keys import SecretBox
from dockyard.domain.errors import DockyardError, InvalidRequest
from dockyard.domain.identity import (
    ACCESS_KEY_PREFIX,
    SESSION_KEY_PREFIX,
    USER_ID_PREFIX,
    AccessKey,
    Caller,
    KeyStatus,
    Principal,
    PrincipalKind,
    SessionCredentials,
    valid_name,
    valid_path,
)
from dockyard.metadata import IdentityStore
from dockyard.services.changes import ChangeMark
from dockyard.services.threads import blocking

TOKEN_LIFETIME = 12 * 3600
# Bearer tokens exist for clients that insist on the token flow (oras-py's default
# backend). Each use still checks the key, so the lifetime only bounds a leaked token;
# an hour covers a long push by a client that never asks again (oras-py refreshes a
# token on 403 only, and a 401 is the answer for an expired one).
BEARER_LIFETIME = 3600
_CACHE_SECONDS = 1.0
_CACHE_MOST = 10_000  # verified keys a process keeps at most
_GLOBAL_SERVICES = frozenset({"iam", "sts"})
_GLOBAL_REGION = "us-east-1"
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
class Login:
    """Who a registry password or bearer token stands for, and the region it was issued
    for (ECR's passwords are each for one registry: the caller's account in one region)."""

    caller: Caller
    region: str


@dataclass(frozen=True, slots=True)
class BearerToken:
    token: str = field(repr=False)
    issued_at: datetime
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class _Credential:
    """A key that can sign: a long-term access key, or an STS session's temporary key
    (with the SHA-256 of its session token and its expiry)."""

    principal: Principal
    access_key_id: str
    secret: str = field(repr=False)
    token_hash: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None

    def caller(self) -> Caller:
        return Caller(self.principal, self.access_key_id, self.expires_at)


def _random(count: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(count))


def new_unique_id(prefix: str) -> str:
    """An IAM unique id as AWS shapes them: a 4-letter prefix ("AIDA", "AROA"...) and 17
    more letters and digits."""
    return prefix + _random(17)


def new_key(prefix: str = ACCESS_KEY_PREFIX) -> NewKey:
    return NewKey(prefix + _random(16), secrets.token_urlsafe(30)[:40])


def token_hash(session_token: str) -> str:
    return hashlib.sha256(session_token.encode("utf-8", "surrogateescape")).hexdigest()


class Identity:
    def __init__(
        self,
        store: IdentityStore,
        box: SecretBox,
        token_key: bytes,
        region: str,
        clock: Callable[[], float] = time.time,
        changes: ChangeMark | None = None,
        regions: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        self._box = box
        self._token_key = token_key
        self.region = region  # the default region
        self.regions = regions | {region}  # every region served
        # Epoch seconds; tests give a clock of their own to see sessions and passwords end.
        self.clock = clock
        # Verified keys for _CACHE_SECONDS, while the node's change mark stands still.
        self._changes = changes or ChangeMark()
        self._cache: dict[str, tuple[float, int, _Credential]] = {}

    @property
    def box(self) -> SecretBox:
        """The node's sealing of secrets at rest, shared with Secrets Manager's secrets so
        that one key (and one key rotation story) covers every stored secret."""
        return self._box

    # Accounts and keys (also used by the CLI) ------------------------------

    def bootstrap(self, account_id: str, root_key: NewKey | None) -> NewKey | None:
        """Make the account and give its root a key; returns a key made here, to show once."""
        self._store.ensure_account(account_id)
        root = Principal(account_id, "root", PrincipalKind.ROOT)
        if self._store.keys(root):
            return None
        key = root_key or new_key()
        sealed = self._box.seal(key.secret_access_key)
        if not self._store.add_first_key(root, key.access_key_id, sealed):
            return None  # another node starting at the same time gave the root its key
        return None if root_key else key

    def create_user(self, account_id: str, name: str, path: str = "/") -> Principal:
        if not valid_name(name, 64):
            raise InvalidRequest(f"invalid user name {name!r}")
        if not valid_path(path):
            raise InvalidRequest(f"invalid path {path!r}")
        self._store.ensure_account(account_id)
        return self._store.create_user(account_id, name, path, new_unique_id(USER_ID_PREFIX))

    def create_key(self, principal: Principal) -> NewKey:
        key = new_key()
        self._store.add_key(principal, key.access_key_id, self._box.seal(key.secret_access_key))
        return key

    def check_secrets_key(self, account_id: str) -> None:
        """Raise ``KeyMaterialError`` when this node's secrets key does not open the secrets
        already stored (a node started with another key answers every signed call 500)."""
        for key in self._store.keys(Principal(account_id, "root", PrincipalKind.ROOT))[:1]:
            found = self._store.key(key.access_key_id)
            if found is not None:
                self._box.open(found[1])

    def forget_cached(self) -> None:
        """Drop every cached key and session: a user or role was deleted."""
        self._cache.clear()
        self._changes.move()

    def set_key_status(self, access_key_id: str, status: KeyStatus) -> bool:
        self._cache.pop(access_key_id, None)
        changed = self._store.set_key_status(access_key_id, status)
        self._changes.move()
        return changed

    def delete_key(self, access_key_id: str) -> bool:
        self._cache.pop(access_key_id, None)
        deleted = self._store.delete_key(access_key_id)
        self._changes.move()
        return deleted

    def principals(self, account_id: str) -> list[Principal]:
        return self._store.principals(account_id)

    def keys(self, principal: Principal) -> list[AccessKey]:
        return self._store.keys(principal)

    def key_count(self, principal: Principal) -> int:
        return self._store.key_count(principal)

    def key_owner(self, access_key_id: str) -> Principal | None:
        found = self._store.key(access_key_id)
        return None if found is None else found[0].principal

    def start_session(
        self, role: Principal, source_arn: str, expires_at: datetime
    ) -> SessionCredentials:
        """Temporary credentials for ``role`` (an ASSUMED_ROLE principal with its session
        name); the secret is sealed like an access key's, the token kept only as a hash."""
        key = new_key(SESSION_KEY_PREFIX)
        session_token = secrets.token_urlsafe(96)
        assert role.session_name is not None
        self._store.add_session(
            key.access_key_id,
            role.account_id,
            role.name,
            role.session_name,
            source_arn,
            self._box.seal(key.secret_access_key),
            token_hash(session_token),
            expires_at,
        )
        return SessionCredentials(
            key.access_key_id, key.secret_access_key, session_token, expires_at
        )

    # Authentication --------------------------------------------------------

    async def precheck(self, request: sigv4.ReceivedRequest, service: str) -> str:
        """Everything ``authenticate`` checks that needs neither the body nor the signature:
        the credentials' form, an active access key, scope and clock. Run before reading a
        body, so that requests that cannot be genuine are refused before they cost memory.
        Returns the region the request acts in: the one it is signed for."""
        signed = sigv4.parse_authorization(request)
        await self._signing_key(signed)
        region = self._scope_region(signed, service)
        sigv4.check_claims(signed, datetime.now(UTC), region=region, service=service)
        return region

    def _scope_region(self, signed: sigv4.SignedRequest, service: str) -> str:
        """The region a request must be signed for: any region served here (each is its own
        registry), or for IAM and STS, which are global in AWS, also the global endpoint's
        us-east-1 (what an SDK signs with when it has no region of its own). A region not
        served is refused as AWS refuses a request signed for another region than the
        endpoint's: InvalidSignatureException, "Credential should be scoped to a valid
        region"."""
        if service in _GLOBAL_SERVICES and signed.region == _GLOBAL_REGION:
            return _GLOBAL_REGION
        return signed.region if signed.region in self.regions else self.region

    async def authenticate(self, request: sigv4.ReceivedRequest, service: str) -> Caller:
        signed = sigv4.parse_authorization(request)
        credential = await self._signing_key(signed)
        sigv4.verify(
            signed,
            request,
            credential.secret,
            datetime.now(UTC),
            region=self._scope_region(signed, service),
            service=service,
        )
        return credential.caller()

    async def _signing_key(self, signed: sigv4.SignedRequest) -> _Credential:
        credential = await self._active_key(signed.access_key_id)
        # A session's key signs only with its own token (X-Amz-Security-Token, in a header
        # or a presigned URL); a long-term key never carries one.
        if credential.token_hash is None:
            if signed.security_token is not None:
                raise sigv4.UnknownAccessKey(signed.access_key_id)
        elif signed.security_token is None or not hmac.compare_digest(
            credential.token_hash, token_hash(signed.security_token)
        ):
            raise sigv4.UnknownAccessKey(signed.access_key_id)
        return credential

    def login_password(self, caller: Caller, region: str | None = None) -> tuple[str, datetime]:
        """A registry password for ``caller`` in ``region`` (default: the default region);
        one minted with session credentials names the session and ends with it (ECR: 12
        hours, or the session's end if sooner)."""
        expires = self.clock() + TOKEN_LIFETIME
        if caller.session_expires_at is not None:
            expires = min(expires, caller.session_expires_at.timestamp())
        claims = tokens.TokenClaims("login", caller.access_key_id, expires, region or self.region)
        return tokens.issue(self._token_key, claims), datetime.fromtimestamp(expires, UTC)

    async def check_password(self, password: str) -> Caller:
        return (await self.password_login(password)).caller

    async def password_login(self, password: str) -> Login:
        """The caller and region of a registry password."""
        caller, claims = await self._check_token(password, "login")
        return Login(caller, claims.region or self.region)

    async def bearer_login(self, token: str) -> Login:
        """The caller and region of a bearer token."""
        caller, claims = await self._check_token(token, "bearer")
        return Login(caller, claims.region or self.region)

    async def exchange_password(self, password: str) -> BearerToken:
        """A bearer token for the caller a registry password names (distribution token auth).

        It names the same access key, so it carries the same rights and stops working
        with the key; it outlives neither BEARER_LIFETIME nor the password it came from.
        """
        caller, claims = await self._check_token(password, "login")
        now = self.clock()
        expires = min(now + BEARER_LIFETIME, claims.expires_at)
        # For the same registry as the password.
        bearer = tokens.TokenClaims("bearer", caller.access_key_id, expires, claims.region)
        token = tokens.issue(self._token_key, bearer)
        return BearerToken(token, datetime.fromtimestamp(now, UTC), int(expires - now))

    async def check_bearer(self, token: str) -> Caller:
        return (await self.bearer_login(token)).caller

    async def _check_token(self, token: str, purpose: str) -> tuple[Caller, tokens.TokenClaims]:
        try:
            claims = tokens.read(self._token_key, token, purpose, self.clock())
        except tokens.TokenInvalid as exc:
            raise Unauthenticated(exc.describe()) from None
        try:
            credential = await self._active_key(claims.subject)
        except sigv4.ExpiredToken:
            raise Unauthenticated("the session this token was issued for has expired") from None
        except sigv4.UnknownAccessKey:
            raise Unauthenticated("the key this token was issued for is gone or disabled") from None
        return credential.caller(), claims

    async def _active_key(self, access_key_id: str) -> _Credential:
        """The active key or live session with this id: UnknownAccessKey when there is
        none, ExpiredToken for a session past its end."""
        mark = self._changes.read()
        cached = self._cache.get(access_key_id)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == mark:
            credential = cached[2]
        elif access_key_id.startswith(SESSION_KEY_PREFIX):
            credential = await self._load_session(access_key_id, mark)
        else:
            credential = await self._load_key(access_key_id, mark)
        if credential.expires_at is not None and credential.expires_at.timestamp() <= self.clock():
            raise sigv4.ExpiredToken(access_key_id)
        return credential

    async def _load_key(self, access_key_id: str, mark: int) -> _Credential:
        found = await blocking(self._store.key, access_key_id)
        if found is None or found[0].status is not KeyStatus.ACTIVE:
            self._cache.pop(access_key_id, None)
            raise sigv4.UnknownAccessKey(access_key_id)
        key, ciphertext = found
        credential = _Credential(key.principal, access_key_id, self._box.open(ciphertext))
        self._remember(access_key_id, mark, credential)
        return credential

    async def _load_session(self, access_key_id: str, mark: int) -> _Credential:
        session = await blocking(self._store.session, access_key_id)
        if session is None:
            self._cache.pop(access_key_id, None)
            raise sigv4.UnknownAccessKey(access_key_id)
        credential = _Credential(
            session.principal,
            access_key_id,
            self._box.open(session.secret_ciphertext),
            session.token_hash,
            session.expires_at,
        )
        self._remember(access_key_id, mark, credential)
        return credential

    def _remember(self, access_key_id: str, mark: int, credential: _Credential) -> None:
        now = time.monotonic()
        if len(self._cache) >= _CACHE_MOST:
            # Every session has a key id of its own, so ids seen once pile up: past this
            # many, the stale ones go (and all of them, should none be stale yet).
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= _CACHE_MOST:
                self._cache.clear()
        self._cache[access_key_id] = (now + _CACHE_SECONDS, mark, credential)

    # Signed download URLs -------------------------------------------------

    def download_token(self, subject: str, lifetime: float) -> str:
        return tokens.issue(
            self._token_key, tokens.TokenClaims("download", subject, self.clock() + lifetime)
        )

    def read_download_token(self, token: str) -> str:
        return tokens.read(self._token_key, token, "download", self.clock()).subject
