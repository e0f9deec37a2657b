"""AWS Signature Version 4 verification, server side.

Verification takes two calls, so that the caller can look the secret up in between::

    signed = parse_authorization(request)          # MissingAuthentication, IncompleteSignature
    secret = lookup(signed.access_key_id)          # caller raises UnknownAccessKey
    verify(signed, request, secret, now, region="us-east-1", service="ecr")

Both forms of SigV4 are understood: the ``Authorization: AWS4-HMAC-SHA256 ...`` header and
presigned URLs (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature`` in the query string).

The canonical request is the one for every service but S3:

* the path is the raw path from the wire with dot segments and empty segments removed,
  then URI-encoded once more (so ``/a%20b`` is signed as ``/a%2520b``);
* each query key and value is decoded (``+`` meaning a space) and re-encoded with only
  ``A-Za-z0-9-_.~`` left bare, and the pairs are sorted by key, then by value;
* each signed header is lowercased, every value trimmed with runs of whitespace collapsed
  to one space, and repeated values joined with commas;
* the payload hash is ``x-amz-content-sha256`` when the request carries it (which must then
  equal the body's hash, or be ``UNSIGNED-PAYLOAD`` where the caller allows that), else the
  body's hash.

Errors carry fields, not wire text; ``describe()`` gives AWS's wording. None of them, and no
repr here, ever holds the secret key, a derived key, the signature or a security token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, unquote_to_bytes

from dockyard.domain.errors import DockyardError

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_PRESIGNED_EXPIRES",
    "MAX_SKEW",
    "UNSIGNED_PAYLOAD",
    "AuthenticationError",
    "CredentialScopeInvalid",
    "IncompleteSignature",
    "InvalidSignature",
    "MissingAuthentication",
    "PayloadHashInvalid",
    "ReceivedRequest",
    "SignatureExpired",
    "SignatureMismatch",
    "SignedRequest",
    "UnknownAccessKey",
    "canonical_request",
    "parse_authorization",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=5)
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SCOPE_DATE = re.compile(r"[0-9]{8}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,10}")
# An RFC 9110 token, lowercase: SignedHeaders lists names as they go into the canonical request.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
_UNRESERVED = "-_.~"

# Query parameters of a presigned URL.
_Q_ALGORITHM = "X-Amz-Algorithm"
_Q_CREDENTIAL = "X-Amz-Credential"
_Q_DATE = "X-Amz-Date"
_Q_EXPIRES = "X-Amz-Expires"
_Q_SIGNED_HEADERS = "X-Amz-SignedHeaders"
_Q_SIGNATURE = "X-Amz-Signature"
_Q_TOKEN = "X-Amz-Security-Token"
_QUERY_AUTH_MARKERS = frozenset({_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE})


# --------------------------------------------------------------------------- errors


class AuthenticationError(DockyardError):
    """Base of every error about a request's credentials or signature."""


class MissingAuthentication(AuthenticationError):
    """No SigV4 credentials at all (wire: ``MissingAuthenticationTokenException``)."""

    def describe(self) -> str:
        return "Missing Authentication Token"


class IncompleteSignature(AuthenticationError):
    """SigV4 credentials that cannot be parsed (wire: ``IncompleteSignatureException``).

    ``reason`` never quotes the Authorization header or the signature.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class UnknownAccessKey(AuthenticationError):
    """No such access key id (wire: ``UnrecognizedClientException``). Raised by the caller."""

    def __init__(self, access_key_id: str) -> None:
        self.access_key_id = access_key_id

    def describe(self) -> str:
        return "The security token included in the request is invalid."


class ExpiredToken(AuthenticationError):
    """Temporary credentials (an STS session) past their expiry (wire:
    ``ExpiredTokenException``). Raised by the caller."""

    def __init__(self, access_key_id: str) -> None:
        self.access_key_id = access_key_id

    def describe(self) -> str:
        return "The security token included in the request is expired"


class InvalidSignature(AuthenticationError):
    """Base of the errors the wire reports as ``InvalidSignatureException``."""


class SignatureMismatch(InvalidSignature):
    """The signature is not the one the secret key gives (wire: ``InvalidSignatureException``)."""

    def __init__(self, access_key_id: str) -> None:
        self.access_key_id = access_key_id

    def describe(self) -> str:
        return (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )


class SignatureExpired(InvalidSignature):
    """The request was signed too long ago, or too far ahead of the server's clock.

    ``window`` is the allowed skew (header form, and presigned URLs dated in the future)
    or the URL's ``X-Amz-Expires`` (presigned URLs dated in the past).
    Wire: ``InvalidSignatureException``.
    """

    def __init__(self, signed_at: datetime, now: datetime, window: timedelta) -> None:
        self.signed_at, self.now, self.window = signed_at, now, window

    @property
    def in_future(self) -> bool:
        return self.signed_at > self.now

    def describe(self) -> str:
        signed_at, now = _amz_date(self.signed_at), _amz_date(self.now)
        window = _describe_window(self.window)
        if self.in_future:
            bound = _amz_date(self.now + self.window)
            return (
                f"Signature not yet current: {signed_at} is still later than {bound} "
                f"({now} + {window})"
            )
        bound = _amz_date(self.now - self.window)
        return f"Signature expired: {signed_at} is now earlier than {bound} ({now} - {window})"


class CredentialScopeInvalid(InvalidSignature):
    """The credential scope names another date, region or service than it must.

    ``expected`` is what the server wanted, ``got`` what the credential says.
    Wire: ``InvalidSignatureException``.
    """

    def __init__(self, part: Literal["date", "region", "service"], expected: str, got: str) -> None:
        self.part, self.expected, self.got = part, expected, got

    def describe(self) -> str:
        if self.part == "region":
            return f"Credential should be scoped to a valid region, not '{self.got}'."
        if self.part == "service":
            return f"Credential should be scoped to correct service: '{self.expected}'."
        return (
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{self.got}' != '{self.expected}'"
        )


class PayloadHashInvalid(InvalidSignature):
    """``x-amz-content-sha256`` is not the body's hash, or is a form not accepted here.

    Wire: ``InvalidSignatureException`` (S3 would say ``XAmzContentSHA256Mismatch``).
    """

    def __init__(self, claimed: str, reason: str) -> None:
        self.claimed, self.reason = claimed, reason

    def describe(self) -> str:
        return f"x-amz-content-sha256 {_clip(self.claimed)!r} {self.reason}"


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as it arrived, with everything verification needs.

    ``path`` and ``query`` are raw, exactly as on the wire (still percent-encoded; in ASGI,
    ``scope["raw_path"]`` and ``scope["query_string"]``, decoded as Latin-1). ``headers`` are
    ``(name, value)`` pairs in arrival order, names in any case, repeats allowed; decode
    header bytes as Latin-1. ``body_sha256`` is the lowercase hex SHA-256 of the body.
    """

    method: str
    path: str
    query: str = field(default="", repr=False)
    headers: Sequence[tuple[str, str]] = field(default=(), repr=False)
    body_sha256: str = EMPTY_SHA256

    def __post_init__(self) -> None:
        if not _HEX64.fullmatch(self.body_sha256):
            raise ValueError("body_sha256 must be 64 lowercase hex digits")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the credentials of a request claim, before anything is checked.

    ``expires`` is set for presigned URLs only (``X-Amz-Expires``, in seconds).
    """

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)
    amz_date: str
    security_token: str | None = field(default=None, repr=False)
    expires: int | None = None

    @property
    def presigned(self) -> bool:
        return self.expires is not None

    @property
    def signed_at(self) -> datetime:
        return datetime.strptime(self.amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)

    @property
    def credential_scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/{TERMINATOR}"


# --------------------------------------------------------------------------- parsing


def parse_authorization(request: ReceivedRequest) -> SignedRequest:
    """Read the SigV4 credentials of ``request``, from its header or its query string.

    Raises ``MissingAuthentication`` when there are none and ``IncompleteSignature`` when
    they are malformed. Checks nothing against keys or clocks; that is ``verify``.
    """
    headers = _header_map(request.headers)
    authorization = [v for v in headers.get("authorization", []) if v.strip()]
    params = _query_params(request.query)
    query_auth = any(name in _QUERY_AUTH_MARKERS for name in params)
    if authorization and query_auth:
        raise IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified"
        )
    if query_auth:
        return _parse_query_auth(params)
    if not authorization:
        raise MissingAuthentication()
    if len(authorization) > 1:
        raise IncompleteSignature("Only one Authorization header is allowed")
    return _parse_header_auth(authorization[0], headers)


def _parse_header_auth(value: str, headers: dict[str, list[str]]) -> SignedRequest:
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise IncompleteSignature(
            f"Authorization header must use the {ALGORITHM} scheme of Signature Version 4"
        )
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not key and not sep:
            continue
        if not sep or not key:
            raise IncompleteSignature(
                "Authorization header components must be key=value pairs separated by commas"
            )
        key = key.strip()
        if key in parts:
            raise IncompleteSignature(f"Authorization header repeats the '{_clip(key)}' parameter")
        parts[key] = val.strip()
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if name not in parts]
    if missing:
        raise IncompleteSignature(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        )
    access_key_id, scope_date, region, service = _parse_credential(parts["Credential"])
    return SignedRequest(
        access_key_id=access_key_id,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=_parse_signed_headers(parts["SignedHeaders"]),
        signature=_parse_signature(parts["Signature"]),
        amz_date=_header_date(headers),
        security_token=_single(headers, "x-amz-security-token"),
    )


def _parse_query_auth(params: dict[str, list[bytes]]) -> SignedRequest:
    def param(name: str) -> str:
        values = params.get(name, [])
        if not values:
            raise IncompleteSignature(f"Query-string authentication requires the {name} parameter")
        if len(values) > 1:
            raise IncompleteSignature(f"The {name} parameter must appear only once")
        try:
            return values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise IncompleteSignature(f"The {name} parameter is not valid UTF-8") from None

    if param(_Q_ALGORITHM) != ALGORITHM:
        raise IncompleteSignature(f"X-Amz-Algorithm only supports '{ALGORITHM}'")
    access_key_id, scope_date, region, service = _parse_credential(param(_Q_CREDENTIAL))
    expires_text = param(_Q_EXPIRES)
    if not _DIGITS.fullmatch(expires_text):
        raise IncompleteSignature("X-Amz-Expires should be a number")
    expires = int(expires_text)
    if not 1 <= expires <= MAX_PRESIGNED_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires must be between 1 and {MAX_PRESIGNED_EXPIRES} seconds"
        )
    token = param(_Q_TOKEN) if _Q_TOKEN in params else None
    return SignedRequest(
        access_key_id=access_key_id,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=_parse_signed_headers(param(_Q_SIGNED_HEADERS)),
        signature=_parse_signature(param(_Q_SIGNATURE)),
        amz_date=_parse_amz_date(param(_Q_DATE)),
        security_token=token,
        expires=expires,
    )


def _parse_credential(text: str) -> tuple[str, str, str, str]:
    parts = text.rsplit("/", 4)
    if len(parts) != 5 or not all(parts):
        raise IncompleteSignature(
            "Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request"
        )
    access_key_id, scope_date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise IncompleteSignature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}'"
        )
    if not _SCOPE_DATE.fullmatch(scope_date):
        raise IncompleteSignature("Credential scope date must have the form YYYYMMDD")
    return access_key_id, scope_date, region, service


def _parse_signed_headers(text: str) -> tuple[str, ...]:
    names = tuple(text.split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in names):
        raise IncompleteSignature(
            "SignedHeaders must be lowercase header names separated by semicolons"
        )
    if len(set(names)) != len(names):
        raise IncompleteSignature("SignedHeaders names a header more than once")
    return names


def _parse_signature(text: str) -> str:
    if not _HEX64.fullmatch(text):
        raise IncompleteSignature("Signature must be 64 lowercase hexadecimal digits")
    return text


def _header_date(headers: dict[str, list[str]]) -> str:
    amz_date = _single(headers, "x-amz-date")
    if amz_date is not None:
        return _parse_amz_date(amz_date.strip())
    date = _single(headers, "date")
    if date is None:
        raise IncompleteSignature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise IncompleteSignature(
            f"Date header {_clip(date)!r} is not an HTTP date (RFC 9110)"
        ) from None
    if parsed.tzinfo is None:  # "-0000": UTC, says RFC 5322
        parsed = parsed.replace(tzinfo=UTC)
    return _amz_date(parsed)


def _parse_amz_date(text: str) -> str:
    try:
        if not _AMZ_DATE.fullmatch(text):
            raise ValueError(text)
        datetime.strptime(text, _AMZ_DATE_FORMAT)
    except ValueError:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got {_clip(text)!r}. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None
    return text


def _single(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name, [])
    if len(values) > 1:
        raise IncompleteSignature(f"Only one '{name}' header is allowed")
    return values[0] if values else None


# --------------------------------------------------------------------------- verification


def verify(
    signed: SignedRequest,
    request: ReceivedRequest,
    secret_key: str,
    now: datetime,
    *,
    region: str,
    service: str,
    allow_unsigned_payload: bool = False,
    max_skew: timedelta = MAX_SKEW,
) -> None:
    """Check ``signed`` (from ``parse_authorization(request)``) with ``secret_key``.

    In order: everything ``check_claims`` checks, then the payload hash
    (``PayloadHashInvalid``), then the signature itself (``SignatureMismatch``).
    ``now`` must be timezone-aware.
    """
    check_claims(signed, now, region=region, service=service, max_skew=max_skew)
    headers = _header_map(request.headers)
    payload_hash = _payload_hash(headers, request.body_sha256, allow_unsigned_payload)
    canonical = _canonical_request(request, signed, payload_hash, headers)
    key = _signing_key(secret_key, signed.scope_date, signed.region, signed.service)
    expected = hmac.new(key, string_to_sign(signed, canonical).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signed.signature):
        raise SignatureMismatch(signed.access_key_id)


def check_claims(
    signed: SignedRequest,
    now: datetime,
    *,
    region: str,
    service: str,
    max_skew: timedelta = MAX_SKEW,
) -> None:
    """What can be checked of ``signed`` without the body or the secret key.

    In order: the credential scope (``CredentialScopeInvalid``), that ``host`` is signed
    (``IncompleteSignature``), the clock (``SignatureExpired``). A server runs this before
    it reads a body, so that a request that cannot be genuine costs it nothing.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if signed.service != service:
        raise CredentialScopeInvalid("service", service, signed.service)
    if signed.region != region:
        raise CredentialScopeInvalid("region", region, signed.region)
    if signed.scope_date != signed.amz_date[:8]:
        raise CredentialScopeInvalid("date", signed.amz_date[:8], signed.scope_date)
    if "host" not in signed.signed_headers:
        raise IncompleteSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    _check_clock(signed, now, max_skew)


def _check_clock(signed: SignedRequest, now: datetime, max_skew: timedelta) -> None:
    signed_at = signed.signed_at
    if signed_at - now > max_skew:
        raise SignatureExpired(signed_at, now, max_skew)
    window = max_skew if signed.expires is None else timedelta(seconds=signed.expires)
    if now - signed_at > window:
        raise SignatureExpired(signed_at, now, window)


def _payload_hash(headers: dict[str, list[str]], body_sha256: str, allow_unsigned: bool) -> str:
    values = headers.get("x-amz-content-sha256", [])
    if not values:
        return body_sha256
    if len(values) > 1:
        raise PayloadHashInvalid(",".join(values), "appears more than once")
    claimed = values[0]
    if claimed == UNSIGNED_PAYLOAD:
        if not allow_unsigned:
            raise PayloadHashInvalid(claimed, "is not accepted here; sign the payload")
        return claimed
    if not _HEX64.fullmatch(claimed):
        raise PayloadHashInvalid(claimed, "must be a lowercase hex SHA-256 or UNSIGNED-PAYLOAD")
    if not hmac.compare_digest(claimed, body_sha256):
        raise PayloadHashInvalid(claimed, "does not match the SHA-256 of the request body")
    return claimed


# --------------------------------------------------------------------------- canonical form


def canonical_request(request: ReceivedRequest, signed: SignedRequest, payload_hash: str) -> str:
    """The canonical request of SigV4 (non-S3 flavour), as ``verify`` computes it."""
    return _canonical_request(request, signed, payload_hash, _header_map(request.headers))


def string_to_sign(signed: SignedRequest, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{signed.amz_date}\n{signed.credential_scope}\n{digest}"


def _canonical_request(
    request: ReceivedRequest,
    signed: SignedRequest,
    payload_hash: str,
    headers: dict[str, list[str]],
) -> str:
    header_lines = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, []))}\n"
        for name in signed.signed_headers
    )
    return "\n".join(
        [
            request.method.upper(),
            _canonical_path(request.path),
            _canonical_query(request.query, exclude_signature=signed.presigned),
            header_lines,
            ";".join(signed.signed_headers),
            payload_hash,
        ]
    )


def _canonical_path(raw_path: str) -> str:
    return quote(_remove_dot_segments(raw_path), safe="/~")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, and empty segments go too, as AWS wants."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and kept else ""
    return first + "/".join(kept) + last


def _canonical_query(raw_query: str, *, exclude_signature: bool) -> str:
    pairs = sorted(
        (quote(key, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for key, value in _decoded_pairs(raw_query)
        if not (exclude_signature and key == _Q_SIGNATURE.encode())
    )
    return "&".join(f"{key}={value}" for key, value in pairs)


def _decoded_pairs(raw_query: str) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_unquote(key), _unquote(value)))
    return pairs


def _unquote(text: str) -> bytes:
    return unquote_to_bytes(text.replace("+", " "))


def _query_params(raw_query: str) -> dict[str, list[bytes]]:
    params: dict[str, list[bytes]] = {}
    for key, value in _decoded_pairs(raw_query):
        params.setdefault(key.decode("utf-8", "replace"), []).append(value)
    return params


def _header_map(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in headers:
        result.setdefault(name.strip().lower(), []).append(value)
    return result


# --------------------------------------------------------------------------- keys


@lru_cache(maxsize=256)
def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").

    Cached: a client signs every request of a day with the same key.
    """
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# --------------------------------------------------------------------------- helpers


def _amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)


def _describe_window(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
