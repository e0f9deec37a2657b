"""Policy evaluation, case by case from AWS's policy evaluation logic, and its properties."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.domain.errors import PolicyInvalid
from dockyard.domain.policy import (
    AccessRequest,
    Decision,
    Policy,
    PrincipalType,
    Reason,
    denial_message,
    evaluate,
    parse_policy,
)

A, B = "111111111111", "222222222222"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REGION = "us-east-1"


def repo(name: str, account: str = A) -> str:
    return f"arn:aws:ecr:{REGION}:{account}:repository/{name}"


APP = repo("app-web")
DB = repo("db")


def user(name: str, account: str = A, **context: Any) -> AccessRequest:
    return AccessRequest(
        f"arn:aws:iam::{account}:user/{name}",
        account,
        "ecr:PutImage",
        APP,
        PrincipalType.USER,
        username=name,
        userid=f"AIDA{name.upper()}",
        context=context,
    )


def root(account: str = A) -> AccessRequest:
    return AccessRequest(
        f"arn:aws:iam::{account}:root", account, "ecr:PutImage", APP, PrincipalType.ACCOUNT
    )


def session(role: str, name: str, account: str = A, **context: Any) -> AccessRequest:
    return AccessRequest(
        f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
        account,
        "ecr:PutImage",
        APP,
        PrincipalType.ASSUMED_ROLE,
        userid=f"AROA{role.upper()}:{name}",
        role_arn=f"arn:aws:iam::{account}:role/{role}",
        context=context,
    )


def to(
    request: AccessRequest, action: str | None = None, resource: str | None = None
) -> AccessRequest:
    return AccessRequest(
        request.principal_arn,
        request.principal_account,
        action or request.action,
        resource or request.resource,
        request.principal_type,
        request.username,
        request.userid,
        request.role_arn,
        request.context,
    )


def identity(*statements: dict[str, Any], version: str = "2012-10-17", name: str = "id") -> Policy:
    text = json.dumps({"Version": version, "Statement": list(statements)})
    return parse_policy(text, kind="identity", name=name)


def resource(*statements: dict[str, Any]) -> Policy:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return parse_policy(text, kind="resource", name="repository policy")


def allow(action: Any = "ecr:PutImage", res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": res, **extra}


def deny(action: Any = "ecr:PutImage", res: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": res, **extra}


def grant(
    principal: Any, action: Any = "ecr:PutImage", effect: str = "Allow", **extra: Any
) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, **extra}


def decide(
    request: AccessRequest,
    identity_policies: Sequence[Policy] = (),
    resource_policy: Policy | None = None,
    resource_account: str = A,
) -> Decision:
    return evaluate(
        request,
        identity_policies=identity_policies,
        resource_policy=resource_policy,
        resource_account=resource_account,
        now=NOW,
    )


# --------------------------------------------------------------------------- the decision logic


def test_same_account_identity_allow() -> None:
    decision = decide(user("ci"), [identity(allow(Sid="Push"))])
    assert decision.allowed and decision.reason is Reason.ALLOWED
    assert [(s.policy, s.sid) for s in decision.statements] == [("id", "Push")]


def test_nothing_allows_is_an_implicit_deny() -> None:
    request = user("ci")
    decision = decide(request, [identity(allow("ecr:BatchGetImage"))])
    assert not decision.allowed and decision.reason is Reason.NO_IDENTITY_ALLOW
    assert decision.statements == ()
    assert denial_message(request, decision) == (
        f"User: arn:aws:iam::{A}:user/ci is not authorized to perform: ecr:PutImage on "
        f"resource: {APP} because no identity-based policy allows the ecr:PutImage action"
    )


def test_same_account_resource_policy_naming_the_user_suffices() -> None:
    policy = resource(grant({"AWS": f"arn:aws:iam::{A}:user/ci"}, Sid="CI"))
    decision = decide(user("ci"), [], policy)
    assert decision.allowed and [s.sid for s in decision.statements] == ["CI"]
    assert not decide(user("other"), [], policy).allowed


def test_same_account_resource_policy_naming_the_account_delegates_to_identity_policies() -> None:
    policy = resource(grant({"AWS": A}))
    assert decide(user("ci"), [], policy).reason is Reason.NO_IDENTITY_ALLOW
    assert decide(user("ci"), [identity(allow())], policy).allowed
    assert decide(root(), [], policy).allowed


def test_public_resource_policy_allows_anyone() -> None:
    policy = resource(grant("*", "ecr:BatchGetImage"))
    assert decide(to(user("ci"), "ecr:BatchGetImage"), [], policy).allowed
    assert decide(to(user("x", B), "ecr:BatchGetImage"), [identity(allow("ecr:*"))], policy).allowed


def test_cross_account_needs_both() -> None:
    request = user("puller", B)
    ident = identity(allow())
    granted = resource(grant({"AWS": B}))
    only_identity = decide(request, [ident], None)
    assert only_identity.reason is Reason.NO_RESOURCE_ALLOW
    assert denial_message(request, only_identity).endswith(
        "because no resource-based policy allows the ecr:PutImage action"
    )
    other_grant = resource(grant({"AWS": "333333333333"}))
    assert decide(request, [ident], other_grant).reason is Reason.NO_RESOURCE_ALLOW
    assert decide(request, [], granted).reason is Reason.NO_IDENTITY_ALLOW
    both = decide(request, [ident], granted)
    assert both.allowed and {s.kind for s in both.statements} == {"identity", "resource"}
    named = resource(grant({"AWS": f"arn:aws:iam::{B}:user/puller"}))
    assert decide(request, [ident], named).allowed
    assert not decide(request, [], named).allowed


def test_explicit_deny_in_an_identity_policy_beats_every_allow() -> None:
    request = user("ci")
    decision = decide(
        request,
        [identity(allow("ecr:*")), identity(deny(Sid="NoPush"), name="guard")],
        resource(grant({"AWS": f"arn:aws:iam::{A}:user/ci"})),
    )
    assert not decision.allowed and decision.reason is Reason.EXPLICIT_DENY_IDENTITY
    assert [(s.policy, s.sid, str(s.effect)) for s in decision.statements] == [
        ("guard", "NoPush", "Deny")
    ]
    assert denial_message(request, decision).endswith(
        "on resource: " + APP + " with an explicit deny in an identity-based policy"
    )


def test_explicit_deny_in_a_resource_policy_beats_every_allow() -> None:
    policy = resource(
        grant({"AWS": f"arn:aws:iam::{A}:user/ci"}),
        grant({"AWS": A}, effect="Deny", Sid="Frozen"),
    )
    decision = decide(user("ci"), [identity(allow("*"))], policy)
    assert decision.reason is Reason.EXPLICIT_DENY_RESOURCE
    assert [s.sid for s in decision.statements] == ["Frozen"]
    assert denial_message(user("ci"), decision).endswith(
        "with an explicit deny in a resource-based policy"
    )


def test_root_is_allowed_in_its_own_account_unless_a_resource_policy_denies() -> None:
    assert decide(root()).allowed
    assert decide(root(), [], resource(grant({"AWS": B}))).allowed
    for principal in ({"AWS": A}, "*", {"AWS": f"arn:aws:iam::{A}:root"}):
        denied = decide(root(), [], resource(grant(principal, effect="Deny")))
        assert denied.reason is Reason.EXPLICIT_DENY_RESOURCE
    # A deny naming someone else leaves the root alone.
    assert decide(root(), [], resource(grant({"AWS": B}, effect="Deny"))).allowed


def test_root_of_another_account_needs_the_resource_policy() -> None:
    assert decide(root(B)).reason is Reason.NO_RESOURCE_ALLOW
    assert decide(root(B), [], resource(grant({"AWS": B}))).allowed


def test_assumed_role_sessions_match_the_role_or_the_session() -> None:
    request = session("deployer", "run-1")
    by_role = resource(grant({"AWS": f"arn:aws:iam::{A}:role/deployer"}))
    by_session = resource(grant({"AWS": f"arn:aws:sts::{A}:assumed-role/deployer/run-1"}))
    other_session = resource(grant({"AWS": f"arn:aws:sts::{A}:assumed-role/deployer/run-2"}))
    other_role = resource(grant({"AWS": f"arn:aws:iam::{A}:role/auditor"}))
    assert decide(request, [], by_role).allowed
    assert decide(request, [], by_session).allowed
    assert not decide(request, [], other_session).allowed
    assert not decide(request, [], other_role).allowed


def test_role_assumed_from_another_account() -> None:
    request = to(session("puller", "ecs", B), "ecr:BatchGetImage")
    policy = resource(
        grant(
            {"AWS": f"arn:aws:iam::{B}:role/puller"},
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        )
    )
    assert decide(request, [identity(allow("ecr:BatchGetImage"))], policy).allowed
    assert decide(request, [], policy).reason is Reason.NO_IDENTITY_ALLOW
    assert not decide(to(request, "ecr:PutImage"), [identity(allow("ecr:*"))], policy).allowed


def _assume(request: AccessRequest, role: str = "deploy", account: str = A) -> AccessRequest:
    return to(request, "sts:AssumeRole", f"arn:aws:iam::{account}:role/{role}")


def _trust(*statements: dict[str, Any]) -> Policy:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return parse_policy(text, kind="trust", name="trust policy")


def _decide_trust(
    request: AccessRequest, identity_policies: Sequence[Policy], trust: Policy | None
) -> Decision:
    return evaluate(
        request,
        identity_policies=identity_policies,
        resource_policy=trust,
        resource_account=A,
        now=NOW,
        resource_policy_required=True,
    )


def test_a_role_trust_policy_must_allow_even_in_the_roles_account() -> None:
    """AssumeRole: an identity Allow alone is not enough (unlike other resources); a trust
    policy naming the user suffices alone; one naming the account delegates to identity."""
    request = _assume(user("ci"))
    may_assume = identity(allow("sts:AssumeRole"))
    nobody = _trust(grant({"AWS": f"arn:aws:iam::{B}:root"}, "sts:AssumeRole"))
    decision = _decide_trust(request, [may_assume], nobody)
    assert not decision.allowed and decision.reason is Reason.NO_RESOURCE_ALLOW
    assert not _decide_trust(request, [may_assume], None).allowed
    the_user = _trust(grant({"AWS": f"arn:aws:iam::{A}:user/ci"}, "sts:AssumeRole"))
    assert _decide_trust(request, [], the_user).allowed
    the_account = _trust(grant({"AWS": A}, "sts:AssumeRole"))
    decision = _decide_trust(request, [], the_account)
    assert not decision.allowed and decision.reason is Reason.NO_IDENTITY_ALLOW
    assert _decide_trust(request, [may_assume], the_account).allowed
    assert _decide_trust(_assume(root()), [], the_account).allowed
    # Across accounts both sides, as for any resource.
    other = _assume(user("kim", B))
    b_trusted = _trust(grant({"AWS": B}, "sts:AssumeRole"))
    assert not _decide_trust(other, [], b_trusted).allowed
    assert _decide_trust(other, [may_assume], b_trusted).allowed
    # Conditions of the trust policy are evaluated like any other (sts:ExternalId).
    with_external_id = _trust(
        grant(
            {"AWS": f"arn:aws:iam::{A}:user/ci"},
            "sts:AssumeRole",
            Condition={"StringEquals": {"sts:ExternalId": "build-42"}},
        )
    )
    assert not _decide_trust(request, [], with_external_id).allowed
    given = _assume(user("ci", **{"sts:ExternalId": "build-42"}))
    assert _decide_trust(given, [], with_external_id).allowed


def test_not_action() -> None:
    ident = identity({"Effect": "Allow", "NotAction": "ecr:Delete*", "Resource": "*"})
    assert decide(user("u"), [ident]).allowed
    assert not decide(to(user("u"), "ecr:DeleteRepository"), [ident]).allowed
    guard = identity(
        allow("ecr:*"), {"Effect": "Deny", "NotAction": "ecr:BatchGetImage", "Resource": DB}
    )
    assert decide(to(user("u"), "ecr:BatchGetImage", DB), [guard]).allowed
    assert decide(to(user("u"), resource=DB), [guard]).reason is Reason.EXPLICIT_DENY_IDENTITY


def test_not_resource() -> None:
    ident = identity(
        allow("ecr:*"),
        {
            "Effect": "Deny",
            "Action": "ecr:PutImage",
            "NotResource": repo("app-*", "*").replace(A, "*"),
        },
    )
    assert decide(user("u"), [ident]).allowed
    assert decide(to(user("u"), resource=DB), [ident]).reason is Reason.EXPLICIT_DENY_IDENTITY
    allow_all_but_db = identity({"Effect": "Allow", "Action": "ecr:*", "NotResource": DB})
    assert decide(user("u"), [allow_all_but_db]).allowed
    assert not decide(to(user("u"), resource=DB), [allow_all_but_db]).allowed


def test_not_principal_needs_the_principal_and_its_account() -> None:
    everyone_but = {"AWS": [f"arn:aws:iam::{A}:user/admin", f"arn:aws:iam::{A}:root"]}
    policy = resource({"Effect": "Deny", "NotPrincipal": everyone_but, "Action": "ecr:*"})
    ident = [identity(allow("ecr:*"))]
    assert decide(user("admin"), ident, policy).allowed
    assert decide(root(), [], policy).allowed
    assert decide(user("dev"), ident, policy).reason is Reason.EXPLICIT_DENY_RESOURCE
    user_only = resource(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{A}:user/admin"},
            "Action": "ecr:*",
        }
    )
    assert decide(user("admin"), ident, user_only).reason is Reason.EXPLICIT_DENY_RESOURCE
    roles = resource(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [f"arn:aws:iam::{A}:role/deployer", A]},
            "Action": "ecr:*",
        }
    )
    assert decide(session("deployer", "s"), ident, roles).allowed
    assert not decide(session("other", "s"), ident, roles).allowed


def test_service_principals() -> None:
    policy = resource(grant({"Service": "ecs-tasks.amazonaws.com"}, "ecr:BatchGetImage"))
    service = AccessRequest(
        "ecs-tasks.amazonaws.com", A, "ecr:BatchGetImage", APP, PrincipalType.SERVICE
    )
    assert decide(service, [], policy).allowed
    assert not decide(to(user("u"), "ecr:BatchGetImage"), [], policy).allowed


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("ecr:PutImage", "ecr:PutImage", True),
        ("ECR:putimage", "ecr:PutImage", True),
        ("ecr:PutImage", "ECR:PUTIMAGE", True),
        ("ecr:Batch*", "ecr:BatchGetImage", True),
        ("ecr:Batch*", "ecr:PutImage", False),
        ("ecr:?utImage", "ecr:PutImage", True),
        ("ecr:?utImage", "ecr:PPutImage", False),
        ("ecr:*", "ecr:PutImage", True),
        ("*", "ecr:PutImage", True),
        ("s3:*", "ecr:PutImage", False),
        ("ecr:*Image", "ecr:BatchGetImage", True),
        ("ecr:*Image", "ecr:GetDownloadUrlForLayer", False),
    ],
)
def test_action_matching(pattern: str, action: str, allowed: bool) -> None:
    assert decide(to(user("u"), action), [identity(allow(pattern))]).allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "target", "allowed"),
    [
        ("*", APP, True),
        ("arn:aws:ecr:*:*:repository/app-*", APP, True),
        ("arn:aws:ecr:*:*:repository/app-*", DB, False),
        ("arn:aws:ecr:*:*:repository/app-*", repo("app-web", B), True),
        (f"arn:aws:ecr:{REGION}:{A}:repository/*", repo("team/app"), True),
        (f"arn:aws:ecr:{REGION}:{A}:repository/d?", DB, True),
        (f"arn:aws:ecr:{REGION}:{A}:repository/d?", repo("dbx"), False),
        (f"arn:aws:ecr:{REGION}:{A}:repository/DB", DB, False),  # ARNs are case-sensitive
        ("arn:aws:ecr:*", APP, True),
        ("arn:aws:ecr:*:repository/app-web", APP, False),  # a * does not span a colon
        (f"arn:aws:ecr:eu-*:{A}:repository/*", APP, False),
        ("arn:aws:s3:::*", APP, False),
        (APP, "*", False),
    ],
)
def test_resource_matching(pattern: str, target: str, allowed: bool) -> None:
    assert decide(to(user("u"), resource=target), [identity(allow(res=pattern))]).allowed is allowed


def test_ci_user_scoped_to_app_repositories() -> None:
    ci = identity(
        allow("ecr:GetAuthorizationToken"),
        allow(
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:BatchGetImage",
            ],
            "arn:aws:ecr:*:*:repository/app-*",
        ),
    )
    assert decide(to(user("ci"), "ecr:GetAuthorizationToken", "*"), [ci]).allowed
    assert decide(user("ci"), [ci]).allowed
    assert not decide(to(user("ci"), resource=DB), [ci]).allowed
    assert not decide(to(user("ci"), "ecr:DeleteRepository"), [ci]).allowed


# --------------------------------------------------------------------------- conditions


def cond(
    condition: dict[str, Any], request: AccessRequest | None = None, effect: str = "Allow"
) -> bool:
    """Whether an Allow carrying ``condition`` lets ``request`` through."""
    statement = {"Effect": effect, "Action": "ecr:*", "Resource": "*", "Condition": condition}
    return decide(request or user("u"), [identity(statement)]).allowed


def with_context(context: Mapping[str, Any]) -> AccessRequest:
    return user("u", **context)


CONDITIONS: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # String family
    (
        "StringEquals match",
        {"StringEquals": {"aws:ResourceTag/team": "web"}},
        {"aws:ResourceTag/team": "web"},
        True,
    ),
    (
        "StringEquals is case-sensitive",
        {"StringEquals": {"aws:ResourceTag/team": "web"}},
        {"aws:ResourceTag/team": "Web"},
        False,
    ),
    ("StringEquals missing key", {"StringEquals": {"aws:ResourceTag/team": "web"}}, {}, False),
    (
        "StringEquals values are OR'ed",
        {"StringEquals": {"aws:ResourceTag/team": ["db", "web"]}},
        {"aws:ResourceTag/team": "web"},
        True,
    ),
    (
        "StringEquals has no wildcards",
        {"StringEquals": {"aws:ResourceTag/team": "w*"}},
        {"aws:ResourceTag/team": "web"},
        False,
    ),
    (
        "keys are case-insensitive",
        {"StringEquals": {"AWS:RESOURCETAG/TEAM": "web"}},
        {"aws:resourcetag/team": "web"},
        True,
    ),
    (
        "StringNotEquals differs",
        {"StringNotEquals": {"aws:ResourceTag/team": "db"}},
        {"aws:ResourceTag/team": "web"},
        True,
    ),
    (
        "StringNotEquals equal",
        {"StringNotEquals": {"aws:ResourceTag/team": ["db", "web"]}},
        {"aws:ResourceTag/team": "web"},
        False,
    ),
    (
        "StringNotEquals missing key is true",
        {"StringNotEquals": {"aws:ResourceTag/team": "db"}},
        {},
        True,
    ),
    (
        "StringEqualsIgnoreCase",
        {"StringEqualsIgnoreCase": {"aws:ResourceTag/team": "WEB"}},
        {"aws:ResourceTag/team": "web"},
        True,
    ),
    (
        "StringNotEqualsIgnoreCase",
        {"StringNotEqualsIgnoreCase": {"aws:ResourceTag/team": "WEB"}},
        {"aws:ResourceTag/team": "web"},
        False,
    ),
    (
        "StringLike *",
        {"StringLike": {"ecr:ResourceTag/env": "prod-*"}},
        {"ecr:ResourceTag/env": "prod-eu"},
        True,
    ),
    (
        "StringLike ?",
        {"StringLike": {"ecr:ResourceTag/env": "prod-?"}},
        {"ecr:ResourceTag/env": "prod-eu"},
        False,
    ),
    (
        "StringLike is case-sensitive",
        {"StringLike": {"ecr:ResourceTag/env": "PROD-*"}},
        {"ecr:ResourceTag/env": "prod-eu"},
        False,
    ),
    (
        "StringNotLike",
        {"StringNotLike": {"ecr:ResourceTag/env": "prod-*"}},
        {"ecr:ResourceTag/env": "dev"},
        True,
    ),
    (
        "StringNotLike matching",
        {"StringNotLike": {"ecr:ResourceTag/env": "prod-*"}},
        {"ecr:ResourceTag/env": "prod-1"},
        False,
    ),
    # Arn family
    (
        "ArnLike",
        {"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:role/ci-*"}},
        {"aws:SourceArn": f"arn:aws:iam::{A}:role/ci-main"},
        True,
    ),
    (
        "ArnLike per part",
        {"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:role/ci-*"}},
        {"aws:SourceArn": f"arn:aws:sts::{A}:role/ci-main"},
        False,
    ),
    (
        "ArnEquals takes wildcards too",
        {"ArnEquals": {"aws:SourceArn": "arn:aws:iam::*:role/ci"}},
        {"aws:SourceArn": f"arn:aws:iam::{A}:role/ci"},
        True,
    ),
    (
        "ArnNotEquals",
        {"ArnNotEquals": {"aws:SourceArn": f"arn:aws:iam::{A}:role/ci"}},
        {"aws:SourceArn": f"arn:aws:iam::{A}:role/cd"},
        True,
    ),
    (
        "ArnNotLike",
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:iam::*:role/*"}},
        {"aws:SourceArn": f"arn:aws:iam::{A}:role/cd"},
        False,
    ),
    (
        "ArnNotLike missing key",
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:iam::*:role/*"}},
        {},
        True,
    ),
    (
        "ArnLike on a non-ARN",
        {"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:role/*"}},
        {"aws:SourceArn": "nope"},
        False,
    ),
    # Numeric family
    ("NumericEquals", {"NumericEquals": {"ecr:Count": "10"}}, {"ecr:Count": "10.0"}, True),
    ("NumericNotEquals", {"NumericNotEquals": {"ecr:Count": 10}}, {"ecr:Count": "11"}, True),
    ("NumericLessThan", {"NumericLessThan": {"ecr:Count": 10}}, {"ecr:Count": "9"}, True),
    ("NumericLessThan equal", {"NumericLessThan": {"ecr:Count": 10}}, {"ecr:Count": "10"}, False),
    (
        "NumericLessThanEquals",
        {"NumericLessThanEquals": {"ecr:Count": 10}},
        {"ecr:Count": "10"},
        True,
    ),
    ("NumericGreaterThan", {"NumericGreaterThan": {"ecr:Count": 1.5}}, {"ecr:Count": "2"}, True),
    (
        "NumericGreaterThanEquals",
        {"NumericGreaterThanEquals": {"ecr:Count": 3}},
        {"ecr:Count": "2"},
        False,
    ),
    (
        "Numeric on a non-number",
        {"NumericLessThan": {"ecr:Count": 10}},
        {"ecr:Count": "ten"},
        False,
    ),
    # Date family
    ("DateLessThan now", {"DateLessThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"}}, {}, True),
    (
        "DateGreaterThan now",
        {"DateGreaterThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"}},
        {},
        False,
    ),
    ("DateEquals", {"DateEquals": {"aws:CurrentTime": "2026-06-01T12:00:00+00:00"}}, {}, True),
    ("DateNotEquals", {"DateNotEquals": {"aws:CurrentTime": "2026-06-01T12:00:00Z"}}, {}, False),
    ("DateLessThanEquals epoch", {"DateLessThanEquals": {"aws:EpochTime": "1780315200"}}, {}, True),
    (
        "DateGreaterThanEquals date only",
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2026-06-01"}},
        {},
        True,
    ),
    (
        "Date from the context",
        {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01"}},
        {"aws:TokenIssueTime": "2025-12-31T23:00:00Z"},
        True,
    ),
    # Bool
    ("Bool true", {"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, True),
    (
        "Bool JSON true",
        {"Bool": {"aws:SecureTransport": True}},
        {"aws:SecureTransport": "true"},
        True,
    ),
    (
        "Bool false",
        {"Bool": {"aws:SecureTransport": "true"}},
        {"aws:SecureTransport": "false"},
        False,
    ),
    ("Bool missing key", {"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    ("BoolIfExists missing key", {"BoolIfExists": {"aws:SecureTransport": "true"}}, {}, True),
    (
        "BoolIfExists present",
        {"BoolIfExists": {"aws:SecureTransport": "true"}},
        {"aws:SecureTransport": "false"},
        False,
    ),
    # IpAddress
    (
        "IpAddress v4",
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:SourceIp": "10.1.2.3"},
        True,
    ),
    (
        "IpAddress v4 outside",
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:SourceIp": "11.1.2.3"},
        False,
    ),
    (
        "IpAddress single host",
        {"IpAddress": {"aws:SourceIp": "203.0.113.7"}},
        {"aws:SourceIp": "203.0.113.7"},
        True,
    ),
    (
        "IpAddress v6",
        {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}},
        {"aws:SourceIp": "2001:db8::1"},
        True,
    ),
    (
        "IpAddress v4 against v6",
        {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}},
        {"aws:SourceIp": "10.0.0.1"},
        False,
    ),
    (
        "IpAddress either",
        {"IpAddress": {"aws:SourceIp": ["2001:db8::/32", "10.0.0.0/8"]}},
        {"aws:SourceIp": "10.0.0.1"},
        True,
    ),
    (
        "NotIpAddress",
        {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:SourceIp": "192.0.2.1"},
        True,
    ),
    (
        "NotIpAddress inside",
        {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:SourceIp": "10.0.0.1"},
        False,
    ),
    ("NotIpAddress missing key", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    (
        "IpAddress garbage address",
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:SourceIp": "x"},
        False,
    ),
    # Null
    ("Null true, missing", {"Null": {"aws:ResourceTag/team": "true"}}, {}, True),
    (
        "Null true, present",
        {"Null": {"aws:ResourceTag/team": "true"}},
        {"aws:ResourceTag/team": "a"},
        False,
    ),
    (
        "Null false, present",
        {"Null": {"aws:ResourceTag/team": "false"}},
        {"aws:ResourceTag/team": "a"},
        True,
    ),
    ("Null false, missing", {"Null": {"aws:ResourceTag/team": False}}, {}, False),
    # IfExists
    (
        "StringEqualsIfExists missing",
        {"StringEqualsIfExists": {"aws:ResourceTag/team": "web"}},
        {},
        True,
    ),
    (
        "StringEqualsIfExists mismatch",
        {"StringEqualsIfExists": {"aws:ResourceTag/team": "web"}},
        {"aws:ResourceTag/team": "db"},
        False,
    ),
    ("NumericLessThanIfExists missing", {"NumericLessThanIfExists": {"ecr:Count": 1}}, {}, True),
    # Set qualifiers
    (
        "ForAnyValue one matches",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}},
        {"aws:TagKeys": ["owner", "env"]},
        True,
    ),
    (
        "ForAnyValue none matches",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}},
        {"aws:TagKeys": ["owner"]},
        False,
    ),
    (
        "ForAnyValue empty set",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}},
        {"aws:TagKeys": []},
        False,
    ),
    ("ForAnyValue missing key", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, {}, False),
    (
        "ForAnyValue IfExists missing",
        {"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["team"]}},
        {},
        True,
    ),
    (
        "ForAllValues all match",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
        {"aws:TagKeys": ["env", "team"]},
        True,
    ),
    (
        "ForAllValues one outside",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
        {"aws:TagKeys": ["env", "owner"]},
        False,
    ),
    (
        "ForAllValues empty set is true",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
        {"aws:TagKeys": []},
        True,
    ),
    (
        "ForAllValues missing key is true",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
        {},
        True,
    ),
    (
        "ForAllValues StringLike",
        {"ForAllValues:StringLike": {"aws:TagKeys": ["app-*"]}},
        {"aws:TagKeys": ["app-a", "app-b"]},
        True,
    ),
    (
        "ForAllValues StringNotEquals",
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}},
        {"aws:TagKeys": ["a", "b"]},
        True,
    ),
    (
        "ForAllValues StringNotEquals hit",
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}},
        {"aws:TagKeys": ["a", "secret"]},
        False,
    ),
    (
        "ForAnyValue StringNotLike",
        {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["app-*"]}},
        {"aws:TagKeys": ["app-a", "x"]},
        True,
    ),
    (
        "ForAnyValue StringNotLike none",
        {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["app-*"]}},
        {"aws:TagKeys": ["app-a"]},
        False,
    ),
    (
        "unqualified on a set: any",
        {"StringEquals": {"aws:TagKeys": "team"}},
        {"aws:TagKeys": ["env", "team"]},
        True,
    ),
    (
        "unqualified negated on a set: none",
        {"StringNotEquals": {"aws:TagKeys": "team"}},
        {"aws:TagKeys": ["env", "team"]},
        False,
    ),
    # AND across keys and operators
    (
        "keys are AND'ed",
        {"StringEquals": {"aws:ResourceTag/team": "web", "aws:ResourceTag/env": "prod"}},
        {"aws:ResourceTag/team": "web", "aws:ResourceTag/env": "dev"},
        False,
    ),
    (
        "keys are AND'ed, both",
        {"StringEquals": {"aws:ResourceTag/team": "web", "aws:ResourceTag/env": "prod"}},
        {"aws:ResourceTag/team": "web", "aws:ResourceTag/env": "prod"},
        True,
    ),
    (
        "operators are AND'ed",
        {"StringEquals": {"aws:ResourceTag/team": "web"}, "Bool": {"aws:SecureTransport": "true"}},
        {"aws:ResourceTag/team": "web", "aws:SecureTransport": "false"},
        False,
    ),
    # Principal keys derived from the request
    ("aws:PrincipalAccount", {"StringEquals": {"aws:PrincipalAccount": A}}, {}, True),
    ("aws:PrincipalType", {"StringEquals": {"aws:PrincipalType": "User"}}, {}, True),
    ("aws:PrincipalArn", {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{A}:user/u"}}, {}, True),
    ("aws:username", {"StringEquals": {"aws:username": "u"}}, {}, True),
    ("aws:userid", {"StringLike": {"aws:userid": "AIDA*"}}, {}, True),
    (
        "derived keys win over the context",
        {"StringEquals": {"aws:username": "admin"}},
        {"aws:username": "admin"},
        False,
    ),
    (
        "aws:RequestTag",
        {"StringEquals": {"aws:RequestTag/team": "web"}},
        {"aws:RequestTag/team": "web"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("condition", "context", "allowed"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS]
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], allowed: bool) -> None:
    assert cond(condition, with_context(context)) is allowed


def test_principal_keys_of_an_assumed_role_session() -> None:
    request = session("ci", "build-7")
    assert cond({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci"}}, request)
    assert cond({"StringEquals": {"aws:PrincipalType": "AssumedRole"}}, request)
    assert cond({"StringEquals": {"aws:userid": "AROACI:build-7"}}, request)
    assert cond({"Null": {"aws:username": "true"}}, request)
    assert cond({"StringEquals": {"aws:userid": A}}, root())
    assert cond({"StringEquals": {"aws:PrincipalType": "Account"}}, root())


def test_resource_account_key() -> None:
    same = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    assert cond(same, user("u"))
    policy = identity(allow("ecr:*", Condition=same))
    assert not decide(user("u", B), [policy], resource(grant({"AWS": B}))).allowed


def test_deny_unless_secure_transport() -> None:
    statement = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    policy = identity(allow("*"), statement)
    assert decide(user("u", **{"aws:SecureTransport": "true"}), [policy]).allowed
    assert not decide(user("u", **{"aws:SecureTransport": "false"}), [policy]).allowed
    assert decide(user("u"), [policy]).allowed  # missing key: Bool is false, no deny


# --------------------------------------------------------------------------- policy variables


def test_username_variable_in_resource() -> None:
    policy = identity(allow("ecr:*", f"arn:aws:ecr:*:{A}:repository/${{aws:username}}/*"))
    assert decide(to(user("bob"), resource=repo("bob/app")), [policy]).allowed
    assert not decide(to(user("al"), resource=repo("bob/app")), [policy]).allowed
    # A session has no aws:username: the resource matches nothing.
    assert not decide(to(session("bob", "bob"), resource=repo("bob/app")), [policy]).allowed


def test_other_variables_in_resource() -> None:
    policy = identity(
        allow("ecr:*", "arn:aws:ecr:*:${aws:PrincipalAccount}:repository/${aws:userid}")
    )
    assert decide(to(user("bob"), resource=repo("AIDABOB")), [policy]).allowed
    assert not decide(to(user("bob", B), resource=repo("AIDABOB")), [policy]).allowed


def test_variables_are_text_in_2008_policies() -> None:
    policy = identity(
        allow("ecr:*", f"arn:aws:ecr:*:{A}:repository/${{aws:username}}"), version="2008-10-17"
    )
    assert not decide(to(user("bob"), resource=repo("bob")), [policy]).allowed
    assert decide(to(user("bob"), resource=repo("${aws:username}")), [policy]).allowed


@pytest.mark.parametrize(
    ("pattern", "name", "allowed"),
    [
        ("a${*}b", "a*b", True),
        ("a${*}b", "axb", False),
        ("a${?}", "a?", True),
        ("a${?}", "ab", False),
        ("a${$}b", "a$b", True),
        ("${aws:username, 'nobody'}", "bob", True),
        ("a-*", "a-${aws:username}", True),  # the value's own text, matched by a wildcard
    ],
)
def test_escapes_and_defaults(pattern: str, name: str, allowed: bool) -> None:
    policy = identity(allow("ecr:*", f"arn:aws:ecr:*:{A}:repository/{pattern}"))
    assert decide(to(user("bob"), resource=repo(name)), [policy]).allowed is allowed


def test_default_value_when_the_key_is_missing() -> None:
    policy = identity(allow("ecr:*", f"arn:aws:ecr:*:{A}:repository/${{aws:username, 'shared'}}"))
    assert decide(to(session("r", "s"), resource=repo("shared")), [policy]).allowed


def test_variables_in_condition_values() -> None:
    owner = {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
    assert cond(owner, user("bob", **{"aws:ResourceTag/owner": "bob"}))
    assert not cond(owner, user("al", **{"aws:ResourceTag/owner": "bob"}))
    like = {"StringLike": {"aws:ResourceTag/owner": "${aws:username}-*"}}
    assert cond(like, user("bob", **{"aws:ResourceTag/owner": "bob-team"}))
    arn = {"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}
    assert cond(arn, user("bob", **{"aws:SourceArn": f"arn:aws:iam::{A}:role/x"}))
    # An unresolvable variable makes the condition false, negated operators included.
    assert not cond(owner, session("r", "s"))
    negated = {"StringNotEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
    tagged = session("r", "s", **{"aws:ResourceTag/owner": "bob"})
    assert not cond(owner, tagged)
    assert not cond(negated, tagged)
    assert cond(negated, user("al", **{"aws:ResourceTag/owner": "bob"}))


# --------------------------------------------------------------------------- properties

_ACTIONS = [
    "ecr:*",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:Batch*",
    "ECR:putimage",
    "*",
    "s3:*",
    "ecr:?utImage",
]
_RESOURCES = [
    "*",
    APP,
    DB,
    "arn:aws:ecr:*:*:repository/app-*",
    f"arn:aws:ecr:*:{A}:repository/${{aws:username}}",
    repo("app-web", B),
]
_PRINCIPALS: list[Any] = [
    "*",
    {"AWS": A},
    {"AWS": B},
    {"AWS": f"arn:aws:iam::{A}:user/bob"},
    {"AWS": f"arn:aws:iam::{B}:user/carol"},
    {"AWS": f"arn:aws:iam::{B}:role/puller"},
    {"AWS": [A, B]},
]
_CONDITIONS: list[Any] = [
    None,
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringNotEquals": {"aws:username": "bob"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
    {"StringEqualsIfExists": {"aws:ResourceTag/team": "web"}},
]


@st.composite
def statements(draw: st.DrawFn, *, with_principal: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=3))
    statement["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = actions
    if not with_principal or draw(st.booleans()):
        key = "NotResource" if draw(st.booleans()) and draw(st.booleans()) else "Resource"
        statement[key] = draw(st.sampled_from(_RESOURCES))
    if with_principal:
        key = "NotPrincipal" if draw(st.integers(0, 4)) == 0 else "Principal"
        statement[key] = draw(st.sampled_from(_PRINCIPALS))
    condition = draw(st.sampled_from(_CONDITIONS))
    if condition is not None:
        statement["Condition"] = condition
    return statement


_REQUESTS = [
    user("bob"),
    user("alice"),
    root(),
    root(B),
    user("carol", B),
    session("puller", "s", B),
    session("bob", "x"),
]
_CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:SecureTransport": "true", "aws:SourceIp": "10.1.1.1"},
    {"aws:SecureTransport": "false", "aws:TagKeys": ["team", "env"], "aws:ResourceTag/team": "db"},
]


@st.composite
def requests(draw: st.DrawFn) -> AccessRequest:
    base = draw(st.sampled_from(_REQUESTS))
    context = draw(st.sampled_from(_CONTEXTS))
    return AccessRequest(
        base.principal_arn,
        base.principal_account,
        draw(st.sampled_from(["ecr:PutImage", "ecr:BatchGetImage", "ecr:DeleteRepository"])),
        draw(st.sampled_from([APP, DB, repo("bob"), repo("app-web", B)])),
        base.principal_type,
        base.username,
        base.userid,
        base.role_arn,
        context,
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]] | None, AccessRequest, str]:
    identity_docs = draw(
        st.lists(st.lists(statements(with_principal=False), min_size=1, max_size=3), max_size=3)
    )
    resource_doc = draw(
        st.none() | st.lists(statements(with_principal=True), min_size=1, max_size=3)
    )
    return identity_docs, resource_doc, draw(requests()), draw(st.sampled_from([A, B]))


def _decide(
    identity_docs: list[list[dict[str, Any]]],
    resource_doc: list[dict[str, Any]] | None,
    request: AccessRequest,
    account: str,
) -> Decision:
    return decide(
        request,
        [identity(*statements) for statements in identity_docs],
        resource(*resource_doc) if resource_doc else None,
        account,
    )


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(scenarios(), st.data())
def test_adding_a_deny_never_turns_a_denial_into_an_allow(
    scenario: Any, data: st.DataObject
) -> None:
    identity_docs, resource_doc, request, account = scenario
    before = _decide(identity_docs, resource_doc, request, account)
    in_resource = resource_doc is not None and data.draw(st.booleans())
    extra = data.draw(statements(with_principal=in_resource))
    extra["Effect"] = "Deny"
    if in_resource:
        assert resource_doc is not None
        resource_doc = [*resource_doc, extra]
    elif identity_docs and data.draw(st.booleans()):
        identity_docs = [*identity_docs[:-1], [*identity_docs[-1], extra]]
    else:
        identity_docs = [*identity_docs, [extra]]
    after = _decide(identity_docs, resource_doc, request, account)
    if not before.allowed:
        assert not after.allowed
    if before.reason in (Reason.EXPLICIT_DENY_IDENTITY, Reason.EXPLICIT_DENY_RESOURCE):
        assert after.reason in (Reason.EXPLICIT_DENY_IDENTITY, Reason.EXPLICIT_DENY_RESOURCE)


@_SETTINGS
@given(scenarios(), st.data())
def test_removing_an_allow_never_turns_a_denial_into_an_allow(
    scenario: Any, data: st.DataObject
) -> None:
    identity_docs, resource_doc, request, account = scenario
    before = _decide(identity_docs, resource_doc, request, account)
    places = [
        ("identity", i, j)
        for i, doc in enumerate(identity_docs)
        for j, s in enumerate(doc)
        if s["Effect"] == "Allow"
    ]
    places += [
        ("resource", 0, j) for j, s in enumerate(resource_doc or []) if s["Effect"] == "Allow"
    ]
    if not places:
        return
    where, i, j = data.draw(st.sampled_from(places))
    if where == "identity":
        remaining = identity_docs[i][:j] + identity_docs[i][j + 1 :]
        identity_docs = [
            *identity_docs[:i],
            *([remaining] if remaining else []),
            *identity_docs[i + 1 :],
        ]
    else:
        assert resource_doc is not None
        resource_doc = resource_doc[:j] + resource_doc[j + 1 :] or None
    after = _decide(identity_docs, resource_doc, request, account)
    if not before.allowed:
        assert not after.allowed


@_SETTINGS
@given(scenarios())
def test_decisions_name_their_statements(scenario: Any) -> None:
    decision = _decide(*scenario)
    if decision.reason in (Reason.EXPLICIT_DENY_IDENTITY, Reason.EXPLICIT_DENY_RESOURCE):
        assert decision.statements and all(str(s.effect) == "Deny" for s in decision.statements)
    elif decision.allowed:
        assert all(str(s.effect) == "Allow" for s in decision.statements)
        assert decision.statements or scenario[2].is_root
    else:
        assert decision.statements == ()


# --------------------------------------------------------------------------- fuzzing

_ODD = st.text(alphabet="*?${}:/ab-.'", max_size=16)
_VALUES = st.one_of(
    st.sampled_from(
        [
            "10.0.0.0/8",
            "::/0",
            "2026-01-01",
            "1780315200",
            "1e3",
            "-0",
            "true",
            "FALSE",
            "${aws:username}",
            "${*}${?}${$}",
            "${aws:username, 'x'}",
            "${",
            "arn:aws:iam::*:role/*",
        ]
    ),
    _ODD,
    st.integers(),
    st.booleans(),
)
_OPERATORS = st.sampled_from(
    [
        "StringEquals",
        "StringNotLike",
        "StringEqualsIgnoreCase",
        "ArnLike",
        "ArnNotEquals",
        "NumericLessThan",
        "NumericNotEquals",
        "DateGreaterThanEquals",
        "DateNotEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "Null",
        "ForAllValues:StringLike",
        "ForAnyValue:StringNotEquals",
        "ForAnyValue:ArnLikeIfExists",
        "NumericEqualsIfExists",
    ]
)
_KEYS = st.sampled_from(
    [
        "aws:SourceIp",
        "aws:TagKeys",
        "aws:username",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:PrincipalArn",
        "aws:ResourceTag/team",
        "ecr:Count",
        "aws:SecureTransport",
    ]
)


@st.composite
def fuzzed_statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    patterns = st.lists(
        st.sampled_from(_ACTIONS) | _ODD.map(lambda s: "ecr:" + s), min_size=1, max_size=3
    )
    statement[draw(st.sampled_from(["Action", "NotAction"]))] = draw(patterns)
    arns = st.sampled_from(_RESOURCES) | _ODD.map(lambda s: "arn:aws:ecr:" + s)
    statement[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(
        st.lists(arns, min_size=1, max_size=3)
    )
    statement["Condition"] = draw(
        st.dictionaries(
            _OPERATORS,
            st.dictionaries(
                _KEYS, st.lists(_VALUES, min_size=1, max_size=3), min_size=1, max_size=2
            ),
            max_size=3,
        )
    )
    if not statement["Condition"]:
        del statement["Condition"]
    return statement


_FUZZ_CONTEXTS = st.dictionaries(
    _KEYS, st.one_of(_VALUES.map(str), st.lists(_VALUES.map(str), max_size=3)), max_size=4
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(fuzzed_statements(), min_size=1, max_size=3),
    requests(),
    _FUZZ_CONTEXTS,
    st.sampled_from(["2012-10-17", "2008-10-17"]),
)
def test_fuzzed_policies_parse_or_are_refused_and_evaluate_without_error(
    body: list[dict[str, Any]], request: AccessRequest, context: dict[str, Any], version: str
) -> None:
    text = json.dumps({"Version": version, "Statement": body})
    try:
        policy = parse_policy(text, kind="identity")
    except PolicyInvalid:
        return
    request = AccessRequest(
        request.principal_arn,
        request.principal_account,
        request.action,
        request.resource,
        request.principal_type,
        request.username,
        request.userid,
        request.role_arn,
        context,
    )
    decision = decide(request, [policy], None, request.principal_account)
    assert decision.allowed in (True, False)
