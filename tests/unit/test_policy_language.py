"""The IAM policy language: what parses, to what, and what is refused with which message."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.domain.errors import PolicyInvalid
from dockyard.domain.policy import Effect, PolicyKind, parse_policy
from dockyard.domain.policy.language import MAX_TEXT_LENGTH, Qualifier

ACCOUNT = "111122223333"
REPO = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": REPO, **extra}


def grant(**extra: Any) -> dict[str, Any]:
    """A resource-policy statement (no Resource: the repository it is attached to)."""
    return {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:*", **extra}


# --------------------------------------------------------------------------- what parses


def test_one_statement_or_a_list() -> None:
    one = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": allow()}), kind="identity")
    many = parse_policy(doc(allow(), allow(Sid="Two")), kind="identity")
    assert len(one.statements) == 1 and len(many.statements) == 2
    assert [s.label for s in many.statements] == ["#0", "Two"]
    statement = one.statements[0]
    assert statement.effect is Effect.ALLOW
    assert statement.actions == ("ecr:BatchGetImage",) and statement.resources == (REPO,)
    assert statement.not_actions is None and statement.not_resources is None


def test_version_is_optional_and_turns_variables_off() -> None:
    assert not parse_policy(doc(allow(), version=None), kind="identity").uses_variables
    assert not parse_policy(doc(allow(), version="2008-10-17"), kind="identity").uses_variables
    assert parse_policy(doc(allow()), kind="identity").uses_variables


def test_name_labels_the_policy_and_defaults_to_its_id() -> None:
    text = json.dumps({"Version": "2012-10-17", "Id": "repo-policy", "Statement": [grant()]})
    assert parse_policy(text, kind="resource").name == "repo-policy"
    assert parse_policy(text, kind=PolicyKind.RESOURCE, name="x").name == "x"


@pytest.mark.parametrize(
    ("principal", "aws", "service"),
    [
        ("*", ("*",), ()),
        ({"AWS": "*"}, ("*",), ()),
        ({"AWS": ACCOUNT}, (f"arn:aws:iam::{ACCOUNT}:root",), ()),
        (
            {"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/ci"]},
            (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/ci"),
            (),
        ),
        (
            {"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/r"},
            (f"arn:aws:iam::{ACCOUNT}:role/path/r",),
            (),
        ),
        (
            {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s"},
            (f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",),
            (),
        ),
        ({"Service": "ecs-tasks.amazonaws.com"}, (), ("ecs-tasks.amazonaws.com",)),
        (
            {"Service": ["a.amazonaws.com", "b.amazonaws.com"]},
            (),
            ("a.amazonaws.com", "b.amazonaws.com"),
        ),
    ],
)
def test_principal_forms(principal: Any, aws: tuple[str, ...], service: tuple[str, ...]) -> None:
    policy = parse_policy(doc(grant(Principal=principal)), kind="resource")
    parsed = policy.statements[0].principal
    assert parsed is not None and parsed.aws == aws and parsed.service == service


def test_federated_principal_in_a_trust_policy() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/example.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    policy = parse_policy(doc(statement), kind="trust")
    parsed = policy.statements[0].principal
    assert parsed is not None and parsed.federated == (statement["Principal"]["Federated"],)


def test_not_principal_not_action_not_resource() -> None:
    statement = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ACCOUNT},
        "NotAction": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "NotResource": REPO,
    }
    parsed = parse_policy(doc(statement), kind="resource").statements[0]
    assert parsed.principal is None and parsed.not_principal is not None
    assert parsed.not_actions == ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
    assert parsed.not_resources == (REPO,) and parsed.actions is None


def test_conditions_are_normalised() -> None:
    condition = {
        "ForAnyValue:StringLikeIfExists": {"AWS:TagKeys": ["team", "env"]},
        "Bool": {"aws:SecureTransport": True},
        "NumericLessThan": {"ecr:Count": 10},
        "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
    }
    parsed = parse_policy(doc(allow(Condition=condition)), kind="identity").statements[0]
    first, bool_, number, date, ip = parsed.conditions
    assert first.key == "aws:tagkeys" and first.values == ("team", "env")
    assert first.qualifier is Qualifier.FOR_ANY_VALUE and first.if_exists
    assert (
        first.operator.name == "StringLike" and first.spelling == "ForAnyValue:StringLikeIfExists"
    )
    assert bool_.values == ("true",) and number.values == ("10",)
    assert date.operator.name == "DateGreaterThan" and ip.values == ("10.0.0.0/8", "2001:db8::/32")


def test_sids_may_hold_spaces_in_resource_policies() -> None:
    parse_policy(doc(grant(Sid="Allow pull from B")), kind="resource")


def test_the_ecr_user_guide_repository_policy() -> None:
    """The cross-account pull grant as ECR's guide writes it."""
    text = """{
      "Version": "2012-10-17",
      "Statement": [{
        "Sid": "AllowCrossAccountPull",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:role/ecsTaskExecutionRole"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      }]
    }"""
    parsed = parse_policy(text, kind="resource").statements[0]
    assert parsed.resources is None and parsed.sid == "AllowCrossAccountPull"


# --------------------------------------------------------------------------- what is refused

_DEEP = '{"Version": "2012-10-17", "Statement": ' + "[" * 50 + "]" * 50 + "}"

REFUSED: list[tuple[str, str, str, str]] = [
    ("not JSON", "{", "identity", "Syntax errors in policy"),
    ("a list", "[]", "identity", "Syntax errors in policy"),
    ("too deep", _DEEP, "identity", "Syntax errors in policy"),
    ("no Statement", '{"Version": "2012-10-17"}', "identity", "Missing required field Statement"),
    ("no statements", doc(), "identity", "at least one statement"),
    ("unknown field", '{"Statement": [], "Foo": 1}', "identity", "Unknown field Foo"),
    (
        "bad version",
        doc(allow(), version="2010-01-01"),
        "identity",
        "Policy document must be version 2012-10-17 or 2008-10-17",
    ),
    ("statement not an object", doc("x"), "identity", "Syntax errors in policy"),  # type: ignore[arg-type]
    (
        "no Effect",
        doc({"Action": "ecr:*", "Resource": "*"}),
        "identity",
        "Missing required field Effect",
    ),
    ("bad Effect", doc(allow(Effect="Alow")), "identity", "Invalid effect: Alow"),
    ("lower-case Effect", doc(allow(Effect="allow")), "identity", "Invalid effect: allow"),
    (
        "no Action",
        doc({"Effect": "Allow", "Resource": "*"}),
        "identity",
        "Policy statement must contain actions.",
    ),
    (
        "both Action and NotAction",
        doc(allow(NotAction="ecr:PutImage")),
        "identity",
        "both Action and NotAction",
    ),
    (
        "action without vendor",
        doc(allow(Action="PutImage")),
        "identity",
        "must be prefaced by a vendor",
    ),
    ("action with two colons", doc(allow(Action="ecr:a:b")), "identity", "only one colon"),
    ("action not a string", doc(allow(Action=[1])), "identity", "Action must be a string"),
    ("empty action list", doc(allow(Action=[])), "identity", "Action must be a string"),
    (
        "no Resource",
        doc({"Effect": "Allow", "Action": "ecr:*"}),
        "identity",
        "Policy statement must contain resources.",
    ),
    (
        "resource not an ARN",
        doc(allow(Resource="repository/app")),
        "identity",
        'must be in ARN format or "*"',
    ),
    (
        "both Resource and NotResource",
        doc(allow(NotResource="*")),
        "identity",
        "both Resource and NotResource",
    ),
    (
        "Principal in identity policy",
        doc(allow(Principal="*")),
        "identity",
        "Principal not allowed in identity-based policy",
    ),
    (
        "NotPrincipal in identity policy",
        doc(allow(NotPrincipal="*")),
        "identity",
        "Principal not allowed in identity-based policy",
    ),
    (
        "no Principal in resource policy",
        doc(allow()),
        "resource",
        "Missing required field Principal",
    ),
    (
        "no Principal in trust policy",
        doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
        "trust",
        "Missing required field Principal",
    ),
    (
        "Resource in trust policy",
        doc(grant(Resource="*")),
        "trust",
        "Has prohibited field Resource",
    ),
    (
        "both Principal and NotPrincipal",
        doc(grant(NotPrincipal="*")),
        "resource",
        "both Principal and NotPrincipal",
    ),
    (
        "unknown principal type",
        doc(grant(Principal={"Bogus": "x"})),
        "resource",
        "Invalid principal in policy",
    ),
    (
        "principal not an ARN",
        doc(grant(Principal={"AWS": "bob"})),
        "resource",
        'Invalid principal in policy: "AWS":"bob"',
    ),
    ("empty principal", doc(grant(Principal={})), "resource", "Invalid principal in policy"),
    (
        "principal ARN without an account",
        doc(grant(Principal={"AWS": "arn:aws:iam:::user/bob"})),
        "resource",
        "Invalid principal in policy",
    ),
    (
        "duplicate Sid",
        doc(allow(Sid="A"), allow(Sid="A")),
        "identity",
        "Statement IDs (SID) in a single policy must be unique.",
    ),
    (
        "Sid with a space in identity policy",
        doc(allow(Sid="a b")),
        "identity",
        "Statement IDs (SID) must be alpha-numeric",
    ),
    ("unknown statement field", doc(allow(Actions="ecr:*")), "identity", "unknown field"),
    (
        "unknown operator",
        doc(allow(Condition={"StringEqualz": {"aws:username": "x"}})),
        "identity",
        "Unknown condition operator StringEqualz",
    ),
    (
        "unknown qualifier",
        doc(allow(Condition={"ForSomeValues:StringEquals": {"a:b": "x"}})),
        "identity",
        "Unknown condition operator ForSomeValues:StringEquals",
    ),
    (
        "NullIfExists",
        doc(allow(Condition={"NullIfExists": {"a:b": "true"}})),
        "identity",
        "Unknown condition operator NullIfExists",
    ),
    ("condition not an object", doc(allow(Condition=["x"])), "identity", "Condition must be"),
    (
        "operator block not an object",
        doc(allow(Condition={"StringEquals": "x"})),
        "identity",
        "must map condition keys",
    ),
    (
        "condition key without vendor",
        doc(allow(Condition={"StringEquals": {"user": "x"}})),
        "identity",
        "Condition key user is not valid",
    ),
    (
        "condition value an object",
        doc(allow(Condition={"StringEquals": {"a:b": {"c": 1}}})),
        "identity",
        "takes strings, numbers or booleans",
    ),
    (
        "no condition values",
        doc(allow(Condition={"StringEquals": {"a:b": []}})),
        "identity",
        "has a key with no values",
    ),
    (
        "numeric value",
        doc(allow(Condition={"NumericLessThan": {"a:b": "ten"}})),
        "identity",
        "needs numbers, not ten",
    ),
    (
        "date value",
        doc(allow(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}})),
        "identity",
        "needs dates, not soon",
    ),
    (
        "ip value",
        doc(allow(Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}})),
        "identity",
        "needs IP addresses or CIDRs",
    ),
    (
        "bool value",
        doc(allow(Condition={"Bool": {"aws:SecureTransport": "maybe"}})),
        "identity",
        "needs true or false",
    ),
]


@pytest.mark.parametrize(
    ("text", "kind", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused_with_the_problem_named(text: str, kind: str, message: str) -> None:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(text, kind=kind)
    assert message in raised.value.describe()


def test_too_long() -> None:
    text = doc(allow(Sid="A" * MAX_TEXT_LENGTH))
    with pytest.raises(PolicyInvalid, match="longer than"):
        parse_policy(text, kind="identity")


# --------------------------------------------------------------------------- fuzzing

_KEYS = st.sampled_from(
    [
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "Federated",
        "StringEquals",
        "ForAllValues:StringLike",
        "NumericLessThanIfExists",
        "DateEquals",
        "IpAddress",
        "Null",
        "Bool",
        "ArnLike",
        "aws:SourceIp",
        "aws:TagKeys",
        "Id",
        "x",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "2012-10-17",
            "2008-10-17",
            "Allow",
            "Deny",
            "*",
            "ecr:*",
            ACCOUNT,
            REPO,
            "10.0.0.0/8",
            "::1/128",
            "true",
            "2026-01-01",
            "${aws:username}",
            "arn:",
        ]
    ),
    st.text(max_size=12),
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSONISH, st.sampled_from(["identity", "resource", "trust"]))
def test_fuzzed_documents_parse_or_are_refused(value: Any, kind: str) -> None:
    for document in (value, {"Version": "2012-10-17", "Statement": value}):
        with contextlib.suppress(PolicyInvalid):
            parse_policy(json.dumps(document), kind=kind)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["identity", "resource", "trust"]))
def test_fuzzed_text_parses_or_is_refused(text: str, kind: str) -> None:
    with contextlib.suppress(PolicyInvalid):
        parse_policy(text, kind=kind)
