"""STS through ``registry.iam``: AssumeRole's trust check and bounds, GetCallerIdentity, and
session credentials as SigV4 and registry passwords see them (on a test clock)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dockyard.auth import sigv4
from dockyard.domain.errors import InvalidRequest, RoleTrustDenied
from dockyard.domain.identity import AssumedRole, Caller, PrincipalKind
from dockyard.services import Registry
from dockyard.services.authorization import RequestFacts
from dockyard.services.identity import TOKEN_LIFETIME, Unauthenticated
from tests.iam.conftest import DEFAULT_ACCOUNT, Clock, root_of

run = asyncio.run
OTHER = "111122223333"
_ECR_PREFIX = "AmazonEC2ContainerRegistry_V20150921"
PULL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}],
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


def _trust(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def _role(local: Registry, name: str, trust: str, max_duration: int = 3600) -> str:
    role = run(
        local.iam.create_role(root_of(OTHER), name, trust, max_session_duration=max_duration)
    )
    return role.arn


@pytest.fixture
def accounts(local: Registry) -> None:
    run(local.iam.create_account(OTHER))


MAY_ASSUME = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
)


def _user(local: Registry, name: str, *, may_assume: bool = True) -> Caller:
    """A user of the default account; its own policies allow sts:AssumeRole unless not."""
    root = root_of(DEFAULT_ACCOUNT)
    user = run(local.iam.create_user(root, name))
    if may_assume:
        run(local.iam.put_user_policy(root, name, "assume", MAY_ASSUME))
    return Caller(user.principal, "AKIAUSERKEY")


def test_a_trusted_account_assumes_a_role_of_another(local: Registry, accounts: None) -> None:
    arn = _role(local, "puller", _trust(_allow({"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"})))
    run(local.iam.put_role_policy(root_of(OTHER), "puller", "pull", PULL))
    run(local.iam.attach_role_policy(root_of(OTHER), "puller", READ_ONLY))
    kim = _user(local, "kim")
    assumed = run(local.iam.assume_role(kim, arn, "ci-run-1", 900))
    credentials = assumed.credentials
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", credentials.access_key_id)
    assert len(credentials.secret_access_key) == 40 and len(credentials.session_token) > 100
    now = datetime.now(UTC)
    assert now + timedelta(seconds=890) < credentials.expiration <= now + timedelta(seconds=901)
    assert assumed.arn == f"arn:aws:sts::{OTHER}:assumed-role/puller/ci-run-1"
    role = run(local.iam.get_role(root_of(OTHER), "puller"))
    assert assumed.assumed_role_id == f"{role.role_id}:ci-run-1"
    assert assumed.principal.role_arn == role.arn

    session = Caller(assumed.principal, credentials.access_key_id, credentials.expiration)
    identity = run(local.iam.get_caller_identity(session))
    assert (identity.user_id, identity.account, identity.arn) == (
        f"{role.role_id}:ci-run-1",
        OTHER,
        assumed.arn,
    )
    # The session's identity policies are the role's.
    found = dict(run(local.iam.identity_policies(session)))
    assert set(found) == {"role/puller/pull", READ_ONLY}


def test_get_caller_identity_of_users_and_roots(local: Registry) -> None:
    kim = _user(local, "kim")
    identity = run(local.iam.get_caller_identity(kim))
    assert identity.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/kim"
    assert identity.user_id.startswith("AIDA") and identity.account == DEFAULT_ACCOUNT
    root = run(local.iam.get_caller_identity(root_of(DEFAULT_ACCOUNT)))
    assert (root.user_id, root.arn) == (DEFAULT_ACCOUNT, f"arn:aws:iam::{DEFAULT_ACCOUNT}:root")


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": DEFAULT_ACCOUNT},
        {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
        {"AWS": [f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/kim", "arn:aws:iam::444455556666:root"]},
    ],
    ids=["star", "aws-star", "account-id", "root-arn", "user-arn"],
)
def test_trust_policies_that_name_the_caller(
    local: Registry, accounts: None, principal: object
) -> None:
    arn = _role(local, "r", _trust(_allow(principal)))
    assert run(local.iam.assume_role(_user(local, "kim"), arn, "s1", 900)).principal.kind is (
        PrincipalKind.ASSUMED_ROLE
    )


@pytest.mark.parametrize(
    "trust",
    [
        _trust(_allow({"AWS": "444455556666"})),
        _trust(_allow({"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/someone-else"})),
        _trust(_allow({"Service": "ecs-tasks.amazonaws.com"})),
        # An explicit Deny wins over the Allow.
        _trust(
            _allow({"AWS": DEFAULT_ACCOUNT}),
            {**_allow({"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/kim"}), "Effect": "Deny"},
        ),
        # An Allow for another action is none for AssumeRole.
        _trust({**_allow({"AWS": DEFAULT_ACCOUNT}), "Action": "sts:TagSession"}),
        # A condition the request does not meet.
        _trust(
            _allow({"AWS": DEFAULT_ACCOUNT}, Condition={"Bool": {"aws:MultiFactorAuth": "true"}})
        ),
    ],
    ids=["other-account", "other-user", "service", "deny-wins", "other-action", "condition"],
)
def test_trust_policies_that_do_not(local: Registry, accounts: None, trust: str) -> None:
    arn = _role(local, "r", trust)
    kim = _user(local, "kim")
    with pytest.raises(RoleTrustDenied) as caught:
        run(local.iam.assume_role(kim, arn, "s1", 900))
    assert caught.value.describe() == (
        f"User: arn:aws:iam::{DEFAULT_ACCOUNT}:user/kim is not authorized to perform: "
        f"sts:AssumeRole on resource: {arn}"
    )


def test_a_missing_role_looks_like_an_untrusted_one(local: Registry, accounts: None) -> None:
    with pytest.raises(RoleTrustDenied):
        run(
            local.iam.assume_role(
                root_of(DEFAULT_ACCOUNT), f"arn:aws:iam::{OTHER}:role/none", "s1", 900
            )
        )
    with pytest.raises(InvalidRequest):
        run(local.iam.assume_role(root_of(DEFAULT_ACCOUNT), "arn:aws:iam::x:user/u", "s1", 900))


def test_session_bounds(local: Registry, accounts: None) -> None:
    arn = _role(local, "r", _trust(_allow("*")), max_duration=7200)
    caller = root_of(DEFAULT_ACCOUNT)
    for seconds in (899, 43201):
        with pytest.raises(InvalidRequest, match="durationSeconds"):
            run(local.iam.assume_role(caller, arn, "s1", seconds))
    with pytest.raises(InvalidRequest, match="MaxSessionDuration"):
        run(local.iam.assume_role(caller, arn, "s1", 7201))
    for bad_name in ("x", "has space", "a" * 65):
        with pytest.raises(InvalidRequest, match="roleSessionName"):
            run(local.iam.assume_role(caller, arn, bad_name, 900))
    first = run(local.iam.assume_role(caller, arn, "s1", 7200))
    # Role chaining: a role session may assume a role, for an hour at most.
    chained = Caller(first.principal, first.credentials.access_key_id)
    with pytest.raises(InvalidRequest, match="role chaining"):
        run(local.iam.assume_role(chained, arn, "s2", 3601))
    assert run(local.iam.assume_role(chained, arn, "s2", 3600)).arn.endswith("/r/s2")


def test_both_sides_must_allow_unless_the_trust_policy_names_the_caller(
    local: Registry, accounts: None
) -> None:
    """AWS's rule: a trust policy naming an account delegates to that account's identity
    policies; one naming the caller itself is enough alone, but only in the role's account."""
    root = root_of(DEFAULT_ACCOUNT)
    kim = _user(local, "kim", may_assume=False)
    kim_arn = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/kim"
    across = _role(local, "across", _trust(_allow({"AWS": kim_arn})))
    with pytest.raises(RoleTrustDenied):
        run(local.iam.assume_role(kim, across, "s1", 900))
    account_only = _trust(_allow({"AWS": DEFAULT_ACCOUNT}))
    here = run(local.iam.create_role(root, "here", account_only)).arn
    with pytest.raises(RoleTrustDenied):
        run(local.iam.assume_role(kim, here, "s1", 900))
    named = run(local.iam.create_role(root, "named", _trust(_allow({"AWS": kim_arn})))).arn
    assert run(local.iam.assume_role(kim, named, "s1", 900)).arn.endswith("/named/s1")
    # An identity Allow alone is not enough: the trust policy must allow too.
    run(local.iam.put_user_policy(root, "kim", "assume", MAY_ASSUME))
    assert run(local.iam.assume_role(kim, here, "s1", 900)).arn.endswith("/here/s1")
    assert run(local.iam.assume_role(kim, across, "s1", 900)).arn.endswith("/across/s1")
    stranger = run(local.iam.create_role(root, "stranger", _trust(_allow({"AWS": OTHER})))).arn
    with pytest.raises(RoleTrustDenied):
        run(local.iam.assume_role(kim, stranger, "s1", 900))


def test_external_id_is_tested_by_the_trust_policy(local: Registry, accounts: None) -> None:
    condition = {"StringEquals": {"sts:ExternalId": "build-42"}}
    arn = _role(local, "vendor", _trust(_allow({"AWS": DEFAULT_ACCOUNT}, Condition=condition)))
    kim = _user(local, "kim")
    with pytest.raises(RoleTrustDenied):
        run(local.iam.assume_role(kim, arn, "s1", 900))
    wrong = RequestFacts(external_id="build-41")
    with pytest.raises(RoleTrustDenied):
        run(local.iam.assume_role(kim, arn, "s1", 900, wrong))
    given = RequestFacts(external_id="build-42")
    assert run(local.iam.assume_role(kim, arn, "s1", 900, given)).arn.endswith("/vendor/s1")


# Session credentials at authentication ------------------------------------------------


def _assume(local: Registry, seconds: int = 900) -> AssumedRole:
    arn = _role(local, "pusher", _trust(_allow({"AWS": DEFAULT_ACCOUNT})))
    return run(local.iam.assume_role(root_of(DEFAULT_ACCOUNT), arn, "build-7", seconds))


def _signed(
    key_id: str, secret: str, token: str | None, *, query: bool = False
) -> sigv4.ReceivedRequest:
    """A request signed as botocore signs them: a POST / with the Authorization header, or
    (``query``) a presigned GET URL."""
    credentials = Credentials(key_id, secret, token)
    if query:
        request = AWSRequest(method="GET", url="http://127.0.0.1:5000/download")
        SigV4QueryAuth(credentials, "ecr", "us-east-1", expires=300).add_auth(request)
        body = b""
    else:
        body = b"{}"
        request = AWSRequest(method="POST", url="http://127.0.0.1:5000/", data=body)
        request.headers["X-Amz-Target"] = f"{_ECR_PREFIX}.DescribeRepositories"
        SigV4Auth(credentials, "ecr", "us-east-1").add_auth(request)
    parts = urlsplit(request.url)
    return sigv4.ReceivedRequest(
        method=request.method,
        path=parts.path,
        query=parts.query,
        headers=[*request.headers.items(), ("Host", parts.netloc)],
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


@pytest.mark.parametrize("query", [False, True], ids=["header", "presigned"])
def test_sigv4_accepts_a_session_with_its_token(
    local: Registry, accounts: None, query: bool
) -> None:
    credentials = _assume(local).credentials
    key = (credentials.access_key_id, credentials.secret_access_key)
    signed = _signed(*key, credentials.session_token, query=query)
    caller = run(local.identity.authenticate(signed, "ecr"))
    assert caller.principal.arn == f"arn:aws:sts::{OTHER}:assumed-role/pusher/build-7"
    assert caller.session_expires_at == credentials.expiration
    # Without its token, or with another, the key is not accepted.
    with pytest.raises(sigv4.UnknownAccessKey):
        run(local.identity.authenticate(_signed(*key, None, query=query), "ecr"))
    with pytest.raises(sigv4.UnknownAccessKey):
        run(local.identity.authenticate(_signed(*key, "forged", query=query), "ecr"))


def test_a_long_term_key_with_a_session_token_is_refused(local: Registry) -> None:
    made = run(local.iam.create_access_key(root_of(DEFAULT_ACCOUNT)))
    request = _signed(made.key.access_key_id, made.secret_access_key, "some-token")
    with pytest.raises(sigv4.UnknownAccessKey):
        run(local.identity.authenticate(request, "ecr"))


def test_an_expired_session_is_refused_with_expired_token(
    local: Registry, accounts: None, clock: Clock
) -> None:
    credentials = _assume(local).credentials
    signed = _signed(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )
    run(local.identity.authenticate(signed, "ecr"))
    clock.now = credentials.expiration.timestamp() + 1
    with pytest.raises(sigv4.ExpiredToken) as caught:
        run(local.identity.authenticate(signed, "ecr"))
    assert caught.value.describe() == "The security token included in the request is expired"


def test_a_session_password_ends_with_its_session(
    local: Registry, accounts: None, clock: Clock
) -> None:
    assumed = _assume(local, seconds=900)
    credentials = assumed.credentials
    session = Caller(assumed.principal, credentials.access_key_id, credentials.expiration)
    password, expires = local.identity.login_password(session)
    assert expires == credentials.expiration  # min(12 hours, the session's end)
    caller = run(local.identity.check_password(password))
    assert caller.principal == assumed.principal
    assert caller.session_expires_at == credentials.expiration
    bearer = run(local.identity.exchange_password(password))
    assert bearer.expires_in <= 900
    clock.now = credentials.expiration.timestamp() + 1
    with pytest.raises(Unauthenticated, match="expired"):
        run(local.identity.check_password(password))
    # A long-term key's password still lasts 12 hours.
    _, root_expires = local.identity.login_password(root_of(DEFAULT_ACCOUNT))
    assert root_expires.timestamp() == pytest.approx(clock.now + TOKEN_LIFETIME)
