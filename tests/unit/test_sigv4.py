"""SigV4 verification against requests signed by real botocore."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest.mock import patch
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.auth import sigv4
from dockyard.auth.sigv4 import (
    CredentialScopeInvalid,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthentication,
    PayloadHashInvalid,
    ReceivedRequest,
    SignatureExpired,
    SignatureMismatch,
    SignedRequest,
    UnknownAccessKey,
    canonical_request,
    parse_authorization,
    verify,
)
from dockyard.domain.errors import DockyardError

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDOk+secret=="
HOST = "api.ecr.us-east-1.amazonaws.com"
ENDPOINT = f"https://{HOST}"
T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
JSON_11 = "application/x-amz-json-1.1"


@contextmanager
def botocore_clock(at: datetime | None) -> Iterator[None]:
    if at is None:
        yield
        return
    naive = at.astimezone(UTC).replace(tzinfo=None)
    with patch("botocore.auth.get_current_datetime", return_value=naive):
        yield


def sign(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    token: str | None = None,
    secret: str = SK,
    region: str = "us-east-1",
    service: str = "ecr",
    at: datetime | None = None,
    unsigned_payload: bool = False,
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # appends: repeated names stay repeated
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    with botocore_clock(at):
        SigV4Auth(Credentials(AK, secret, token), service, region).add_auth(request)
    return request


def presign(
    url: str,
    *,
    expires: int = 60,
    token: str | None = None,
    at: datetime | None = None,
) -> str:
    request = AWSRequest(method="GET", url=url)
    with botocore_clock(at):
        SigV4QueryAuth(Credentials(AK, SK, token), "ecr", "us-east-1", expires).add_auth(request)
    assert isinstance(request.url, str)
    return request.url


def received(request: AWSRequest, body: bytes | None = None) -> ReceivedRequest:
    """The request as a server would see it: raw path and query, headers, Host, body hash.

    ``body`` is what arrived, by default what was signed.
    """
    if body is None:
        body = request.data or b""
        assert isinstance(body, bytes)
    parts = urlsplit(request.url)
    headers = list(request.headers.items())
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", parts.netloc))
    return ReceivedRequest(
        method=request.method,
        path=parts.path,
        query=parts.query,
        headers=tuple(headers),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


def received_url(url: str, method: str = "GET") -> ReceivedRequest:
    parts = urlsplit(url)
    return ReceivedRequest(method, parts.path, parts.query, (("Host", parts.netloc),))


def check(
    request: ReceivedRequest,
    *,
    now: datetime | None = None,
    secret: str = SK,
    region: str = "us-east-1",
    service: str = "ecr",
    allow_unsigned_payload: bool = False,
) -> SignedRequest:
    signed = parse_authorization(request)
    verify(
        signed,
        request,
        secret,
        datetime.now(UTC) if now is None else now,
        region=region,
        service=service,
        allow_unsigned_payload=allow_unsigned_payload,
    )
    return signed


def ecr_call(body: bytes = b"{}", **kwargs: object) -> AWSRequest:
    headers = [("Content-Type", JSON_11), ("X-Amz-Target", TARGET)]
    return sign("POST", ENDPOINT + "/", body=body, headers=headers, **kwargs)  # type: ignore[arg-type]


def replace_header(request: ReceivedRequest, name: str, value: str) -> ReceivedRequest:
    headers = [(n, value if n.lower() == name.lower() else v) for n, v in request.headers]
    return dataclasses.replace(request, headers=tuple(headers))


# --------------------------------------------------------------------------- header form


def test_ecr_json_post_verifies() -> None:
    body = json.dumps({"registryIds": ["123456789012"]}).encode()
    signed = check(received(ecr_call(body), body))
    assert signed.access_key_id == AK
    assert (signed.region, signed.service) == ("us-east-1", "ecr")
    assert signed.scope_date == signed.amz_date[:8]
    assert {"host", "x-amz-date", "x-amz-target", "content-type"} <= set(signed.signed_headers)
    assert signed.security_token is None
    assert not signed.presigned


def test_aws_test_suite_get_vanilla() -> None:
    # "get-vanilla" from the AWS SigV4 test suite, independent of botocore.
    request = ReceivedRequest(
        "GET",
        "/",
        headers=(
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
        ),
    )
    check(request, now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC), service="service")


@pytest.mark.parametrize(
    "path_and_query",
    [
        "/v2/a%20b/x?b=2&a=1&a=0&%C3%A9=x",
        "/v2/a%2Fb/./c/../d//e/?x=%2F&x=%20&empty=&flag",
        "/v2/~user/!$'()*,;=:@/f?k=v%2Bw&k=v%20w",
        "/",
        "/v2/%E2%9C%93/tags/list?n=10&last=%E2%9C%93",
    ],
)
def test_paths_and_queries_match_botocore(path_and_query: str) -> None:
    request = sign("GET", ENDPOINT + path_and_query)
    ours = received(request)
    signed = check(ours)
    # Our canonical request is byte-for-byte botocore's.
    del request.headers["Authorization"]
    auth = SigV4Auth(Credentials(AK, SK), "ecr", "us-east-1")
    assert canonical_request(ours, signed, sigv4.EMPTY_SHA256) == auth.canonical_request(request)


def test_path_is_encoded_twice() -> None:
    request = received(sign("GET", ENDPOINT + "/v2/a%20b/x?b=2&a=1&a=0&%C3%A9=x"))
    lines = canonical_request(request, parse_authorization(request), sigv4.EMPTY_SHA256)
    method, path, query = lines.split("\n")[:3]
    assert (method, path) == ("GET", "/v2/a%2520b/x")
    assert query == "%C3%A9=x&a=0&a=1&b=2"


def test_session_token_is_signed_and_hidden() -> None:
    signed = check(received(ecr_call(token=TOKEN)))
    assert signed.security_token == TOKEN
    assert "x-amz-security-token" in signed.signed_headers
    assert TOKEN not in repr(signed)


def test_session_token_tampered_fails() -> None:
    request = replace_header(received(ecr_call(token=TOKEN)), "X-Amz-Security-Token", "other")
    with pytest.raises(SignatureMismatch):
        check(request)


def test_repeated_headers_and_whitespace() -> None:
    headers = [("X-Custom", "  one   two  "), ("x-custom", "three"), ("X-Other", "a\t\tb")]
    request = received(sign("PUT", ENDPOINT + "/x", body=b"data", headers=headers), b"data")
    check(request)
    # The order of repeated values is part of what was signed.
    swapped = [("X-Custom", "three"), ("x-custom", "one two")]
    rest = [(n, v) for n, v in request.headers if n.lower() != "x-custom"]
    with pytest.raises(SignatureMismatch):
        check(dataclasses.replace(request, headers=tuple(rest + swapped)))


def test_date_header_instead_of_x_amz_date() -> None:
    request = sign("GET", ENDPOINT + "/", headers=[("Date", "Mon, 01 Jan 2024 00:00:00 GMT")])
    names = {name.lower() for name in request.headers}
    assert "date" in names and "x-amz-date" not in names
    signed = check(received(request))
    assert "date" in signed.signed_headers


def test_header_names_are_case_insensitive() -> None:
    request = received(ecr_call())
    shouted = tuple((name.upper(), value) for name, value in request.headers)
    check(dataclasses.replace(request, headers=shouted))


def test_unsigned_headers_may_change() -> None:
    request = received(ecr_call())
    extra = (*request.headers, ("User-Agent", "something/else"), ("Content-Length", "2"))
    check(dataclasses.replace(request, headers=extra))


# --------------------------------------------------------------------------- tampering


def test_tampered_body() -> None:
    request = received(ecr_call(b'{"a": 1}'), b'{"a": 2}')
    with pytest.raises(SignatureMismatch):
        check(request)


def test_tampered_signed_header() -> None:
    request = replace_header(received(ecr_call()), "X-Amz-Target", TARGET + "x")
    with pytest.raises(SignatureMismatch):
        check(request)


@pytest.mark.parametrize(
    "change",
    [
        {"method": "PUT"},
        {"path": "/v2/a%20b/y"},
        {"path": "/v2/a b/x"},
        {"query": "b=2&a=1&a=9&%C3%A9=x"},
        {"query": "b=2&a=1&%C3%A9=x"},
    ],
)
def test_tampered_request_line(change: dict[str, str]) -> None:
    request = received(sign("GET", ENDPOINT + "/v2/a%20b/x?b=2&a=1&a=0&%C3%A9=x"))
    check(request)
    with pytest.raises(SignatureMismatch):
        check(dataclasses.replace(request, **change))  # type: ignore[arg-type]


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatch) as caught:
        check(received(ecr_call()), secret=SK + "x")
    assert caught.value.access_key_id == AK
    assert str(caught.value).startswith("The request signature we calculated does not match")
    assert isinstance(caught.value, InvalidSignature)


# --------------------------------------------------------------------------- clock


@pytest.mark.parametrize("offset", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_expired_both_ways_at_real_time(offset: timedelta) -> None:
    request = received(ecr_call())
    with pytest.raises(SignatureExpired):
        check(request, now=datetime.now(UTC) + offset)


@pytest.mark.parametrize("seconds", [-300, 0, 300])
def test_within_five_minutes(seconds: int) -> None:
    check(received(ecr_call(at=T0)), now=T0 + timedelta(seconds=seconds))


def test_expired_message() -> None:
    request = received(ecr_call(at=T0))
    with pytest.raises(SignatureExpired) as caught:
        check(request, now=T0 + timedelta(minutes=5, seconds=1))
    assert str(caught.value) == (
        "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z "
        "(20240101T120501Z - 5 min.)"
    )
    assert not caught.value.in_future


def test_not_yet_current_message() -> None:
    request = received(ecr_call(at=T0))
    with pytest.raises(SignatureExpired) as caught:
        check(request, now=T0 - timedelta(minutes=5, seconds=1))
    assert str(caught.value) == (
        "Signature not yet current: 20240101T120000Z is still later than 20240101T115959Z "
        "(20240101T115459Z + 5 min.)"
    )
    assert caught.value.in_future


def test_naive_now_is_a_programming_error() -> None:
    request = received(ecr_call())
    with pytest.raises(ValueError):
        verify(
            parse_authorization(request),
            request,
            SK,
            datetime.now(),
            region="us-east-1",
            service="ecr",
        )


# --------------------------------------------------------------------------- scope


def test_wrong_region() -> None:
    with pytest.raises(CredentialScopeInvalid) as caught:
        check(received(ecr_call(region="eu-west-1")))
    assert (caught.value.part, caught.value.expected, caught.value.got) == (
        "region",
        "us-east-1",
        "eu-west-1",
    )
    assert "Credential should be scoped to a valid region" in str(caught.value)


def test_wrong_service() -> None:
    with pytest.raises(CredentialScopeInvalid) as caught:
        check(received(ecr_call(service="s3")))
    assert caught.value.part == "service"
    assert str(caught.value) == "Credential should be scoped to correct service: 'ecr'."


def test_service_is_a_parameter() -> None:
    check(received(ecr_call(service="sts")), service="sts")


def test_scope_date_must_match_amz_date() -> None:
    request = received(ecr_call())
    signed = dataclasses.replace(parse_authorization(request), scope_date="20000101")
    with pytest.raises(CredentialScopeInvalid) as caught:
        verify(signed, request, SK, datetime.now(UTC), region="us-east-1", service="ecr")
    assert caught.value.part == "date"


def test_host_must_be_signed() -> None:
    request = received(ecr_call())
    signed = parse_authorization(request)
    unsigned_host = dataclasses.replace(
        signed, signed_headers=tuple(h for h in signed.signed_headers if h != "host")
    )
    with pytest.raises(IncompleteSignature, match="Host"):
        verify(unsigned_host, request, SK, datetime.now(UTC), region="us-east-1", service="ecr")


# --------------------------------------------------------------------------- payload hash


def test_unsigned_payload_only_when_allowed() -> None:
    request = received(ecr_call(b"{}", unsigned_payload=True), b"{}")
    assert ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD") in request.headers
    check(request, allow_unsigned_payload=True)
    with pytest.raises(PayloadHashInvalid):
        check(request)


def test_content_sha256_header_must_match_body() -> None:
    body = b"layer bytes"
    header = [("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest())]
    request = received(sign("PUT", ENDPOINT + "/blob", body=body, headers=header), body)
    check(request)
    with pytest.raises(PayloadHashInvalid):
        check(dataclasses.replace(request, body_sha256=hashlib.sha256(b"other").hexdigest()))
    with pytest.raises(PayloadHashInvalid):
        check(replace_header(request, "X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))


def test_body_hash_must_be_hex() -> None:
    with pytest.raises(ValueError):
        ReceivedRequest("GET", "/", body_sha256="ABC")


# --------------------------------------------------------------------------- parsing


def test_missing_authorization() -> None:
    with pytest.raises(MissingAuthentication) as caught:
        parse_authorization(ReceivedRequest("POST", "/", headers=(("Host", HOST),)))
    assert str(caught.value) == "Missing Authentication Token"
    with pytest.raises(MissingAuthentication):
        parse_authorization(ReceivedRequest("POST", "/", headers=(("Authorization", " "),)))


GOOD_CREDENTIAL = f"Credential={AK}/20240101/us-east-1/ecr/aws4_request"
GOOD_SIGNATURE = "Signature=" + "ab" * 32


@pytest.mark.parametrize(
    "authorization",
    [
        "garbage",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer abc.def.ghi",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 nonsense",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 SignedHeaders=host, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=xyz",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature={'AB' * 32}",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=Host, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host;;x, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host;host, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, {GOOD_CREDENTIAL}, SignedHeaders=host, "
        + GOOD_SIGNATURE,
        f"AWS4-HMAC-SHA256 Credential={AK}/20240101/us-east-1/ecr, SignedHeaders=host, "
        + GOOD_SIGNATURE,
        f"AWS4-HMAC-SHA256 Credential={AK}/20240101/us-east-1/ecr/aws5_request, "
        f"SignedHeaders=host, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 Credential={AK}/2024-01-01/us-east-1/ecr/aws4_request, "
        f"SignedHeaders=host, {GOOD_SIGNATURE}",
        f"AWS4-HMAC-SHA256 Credential={AK}//us-east-1/ecr/aws4_request, "
        f"SignedHeaders=host, {GOOD_SIGNATURE}",
    ],
)
def test_garbage_authorization(authorization: str) -> None:
    headers = (("Host", HOST), ("X-Amz-Date", "20240101T000000Z"), ("Authorization", authorization))
    with pytest.raises(IncompleteSignature) as caught:
        parse_authorization(ReceivedRequest("POST", "/", headers=headers))
    # The header is never echoed: it may hold a password or a signature.
    assert "dXNlcjpwYXNzd29yZA" not in str(caught.value)
    assert "ab" * 32 not in str(caught.value)


@pytest.mark.parametrize(
    "date_headers",
    [
        (),
        (("X-Amz-Date", "2024-01-01T00:00:00Z"),),
        (("X-Amz-Date", "20241301T000000Z"),),
        (("X-Amz-Date", "20240101T000000Z"), ("X-Amz-Date", "20240101T000000Z")),
        (("Date", "yesterday"),),
    ],
)
def test_bad_or_missing_date(date_headers: tuple[tuple[str, str], ...]) -> None:
    authorization = f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, {GOOD_SIGNATURE}"
    headers = (("Host", HOST), ("Authorization", authorization), *date_headers)
    with pytest.raises(IncompleteSignature):
        parse_authorization(ReceivedRequest("POST", "/", headers=headers))


def test_two_authorization_headers() -> None:
    request = received(ecr_call())
    doubled = (*request.headers, ("authorization", dict(request.headers)["Authorization"]))
    with pytest.raises(IncompleteSignature):
        parse_authorization(dataclasses.replace(request, headers=doubled))


def test_authorization_without_spaces_after_commas() -> None:
    request = received(ecr_call())
    headers = tuple(
        (n, v.replace(", ", ",") if n == "Authorization" else v) for n, v in request.headers
    )
    check(dataclasses.replace(request, headers=headers))


# --------------------------------------------------------------------------- presigned URLs


def test_presigned_url_verifies() -> None:
    url = presign(ENDPOINT + "/v2/a%20b/blobs/sha256:abc?x=1&x=0", expires=60, at=T0)
    signed = check(received_url(url), now=T0 + timedelta(seconds=60))
    assert signed.presigned and signed.expires == 60
    assert signed.signed_headers == ("host",)
    assert signed.amz_date == "20240101T120000Z"


def test_presigned_url_at_real_time() -> None:
    check(received_url(presign(ENDPOINT + "/download")))


def test_presigned_url_expires() -> None:
    request = received_url(presign(ENDPOINT + "/download", expires=60, at=T0))
    with pytest.raises(SignatureExpired) as caught:
        check(request, now=T0 + timedelta(seconds=61))
    assert "(20240101T120101Z - 1 min.)" in str(caught.value)
    with pytest.raises(SignatureExpired):
        check(request, now=T0 - timedelta(minutes=6))
    check(request, now=T0 - timedelta(minutes=4))


def test_presigned_url_with_token() -> None:
    url = presign(ENDPOINT + "/download", token=TOKEN, at=T0)
    signed = check(received_url(url), now=T0)
    assert signed.security_token == TOKEN
    assert TOKEN not in repr(signed)


@pytest.mark.parametrize(
    ("old", "new"),
    [("X-Amz-Expires=60", "X-Amz-Expires=600"), ("k=v", "k=w"), ("/download", "/upload")],
)
def test_presigned_url_tampered(old: str, new: str) -> None:
    url = presign(ENDPOINT + "/download?k=v", at=T0)
    check(received_url(url), now=T0)
    with pytest.raises(SignatureMismatch):
        check(received_url(url.replace(old, new)), now=T0)


@pytest.mark.parametrize(
    "drop", ["X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]
)
def test_presigned_url_missing_parameter(drop: str) -> None:
    parts = urlsplit(presign(ENDPOINT + "/download"))
    query = "&".join(p for p in parts.query.split("&") if not p.startswith(drop + "="))
    with pytest.raises(IncompleteSignature):
        parse_authorization(ReceivedRequest("GET", parts.path, query, (("Host", HOST),)))


@pytest.mark.parametrize("expires", ["0", "604801", "-1", "soon"])
def test_presigned_url_bad_expires(expires: str) -> None:
    parts = urlsplit(presign(ENDPOINT + "/download"))
    query = parts.query.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")
    with pytest.raises(IncompleteSignature):
        parse_authorization(ReceivedRequest("GET", parts.path, query, (("Host", HOST),)))


def test_header_and_query_auth_together() -> None:
    header_request = received(ecr_call())
    parts = urlsplit(presign(ENDPOINT + "/"))
    both = dataclasses.replace(header_request, query=parts.query)
    with pytest.raises(IncompleteSignature, match="Only one auth mechanism"):
        parse_authorization(both)


# --------------------------------------------------------------------------- hygiene


def test_no_secrets_in_reprs_or_messages() -> None:
    request = received(ecr_call(token=TOKEN))
    signed = parse_authorization(request)
    assert signed.signature not in repr(signed)
    assert signed.signature not in repr(request)
    assert TOKEN not in repr(request)
    errors: list[DockyardError] = []
    for secret, now in [(SK + "x", datetime.now(UTC)), (SK, T0)]:
        try:
            verify(signed, request, secret, now, region="us-east-1", service="ecr")
        except DockyardError as error:
            errors.append(error)
    errors.append(UnknownAccessKey(AK))
    assert len(errors) == 3
    for caught in errors:
        for text in (str(caught), repr(caught), repr(vars(caught))):
            assert SK not in text and signed.signature not in text and TOKEN not in text


def test_unknown_access_key_wording() -> None:
    error = UnknownAccessKey(AK)
    assert error.access_key_id == AK
    assert str(error) == "The security token included in the request is invalid."


def test_signing_keys_are_cached() -> None:
    request = received(ecr_call())
    check(request)
    before = sigv4._signing_key.cache_info()
    check(request)
    after = sigv4._signing_key.cache_info()
    assert after.hits == before.hits + 1
    assert after.maxsize is not None


# --------------------------------------------------------------------------- property

_SEGMENT_CHARS = st.characters(codec="utf-8")  # no lone surrogates
_segments = st.one_of(
    st.sampled_from([".", "..", ""]),
    st.text(_SEGMENT_CHARS, max_size=8).map(lambda s: quote(s, safe="!$&'()*+,;=:@-._~")),
)
_paths = st.lists(_segments, max_size=5).map(lambda segs: "/" + "/".join(segs))
_queries = st.lists(
    st.tuples(st.text(_SEGMENT_CHARS, max_size=6), st.text(_SEGMENT_CHARS, max_size=6)),
    max_size=5,
).map(lambda pairs: "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs))
_header_values = st.text(
    st.one_of(st.sampled_from("\t "), st.characters(min_codepoint=0x21, max_codepoint=0x7E)),
    max_size=20,
)
_header_names = st.from_regex(r"X-[A-Za-z0-9-]{1,12}", fullmatch=True).filter(
    lambda name: name.lower() not in {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
    path=_paths,
    query=_queries,
    headers=st.lists(st.tuples(_header_names, _header_values), max_size=5),
    body=st.binary(max_size=64),
    token=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E))),
)
def test_botocore_signed_requests_always_verify(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    token: str | None,
) -> None:
    url = ENDPOINT + path + ("?" + query if query else "")
    request = sign(method, url, body=body, headers=headers, token=token or None)
    check(received(request, body))
