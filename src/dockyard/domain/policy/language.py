"""The IAM policy language: the document as frozen values, and its validation.

``parse_policy`` reads a policy text of one of three kinds (an identity-based policy, a
resource-based policy such as an ECR repository or registry policy, or a role's trust
policy) and returns a ``Policy`` or raises ``PolicyInvalid`` naming the first problem.
Everything is normalised here, once, so evaluation never re-reads JSON: one statement or a
list becomes a tuple, a string or a list becomes a tuple, account ids become root ARNs,
condition keys become lower case (IAM's keys are case-insensitive), and condition values of
every JSON scalar type become the strings IAM compares.

Service limits on length (IAM's 2,048 / 6,144 / 10,240 characters, ECR's 10,240) belong to
the services; the bound here only keeps the parser's work in proportion.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NoReturn

from dockyard.domain.errors import JsonInvalid, PolicyInvalid
from dockyard.domain.jsontext import parse_json

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
MAX_TEXT_LENGTH = 131_072
# {"Statement": [{"Condition": {"Op": {"key": ["v"]}}}]} nests five levels; any deeper
# document is not a policy.
MAX_DEPTH = 8
_TOP_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource"}
    | {"NotResource", "Condition"}
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[a-zA-Z0-9_.*?-]+")
_ACTION_NAME = re.compile(r"[^\s:]+")
# IAM's and STS's principal ARNs: users, roles, sessions, federated users, roots.
_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:\S+")


class PolicyKind(StrEnum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Qualifier(StrEnum):
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


class Family(StrEnum):
    STRING = "String"
    ARN = "Arn"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    NULL = "Null"


@dataclass(frozen=True, slots=True)
class Operator:
    """One of IAM's condition operators: its family, what it compares and how."""

    name: str  # as IAM spells it, without qualifier or IfExists: "StringNotLike"
    family: Family
    test: str  # equals | like | lt | le | gt | ge | ip | null
    negated: bool = False
    ignore_case: bool = False


def _operators() -> dict[str, Operator]:
    ops = [
        Operator("StringEquals", Family.STRING, "equals"),
        Operator("StringNotEquals", Family.STRING, "equals", negated=True),
        Operator("StringEqualsIgnoreCase", Family.STRING, "equals", ignore_case=True),
        Operator("StringNotEqualsIgnoreCase", Family.STRING, "equals", True, True),
        Operator("StringLike", Family.STRING, "like"),
        Operator("StringNotLike", Family.STRING, "like", negated=True),
        # ArnEquals behaves as ArnLike, as IAM documents.
        Operator("ArnEquals", Family.ARN, "like"),
        Operator("ArnLike", Family.ARN, "like"),
        Operator("ArnNotEquals", Family.ARN, "like", negated=True),
        Operator("ArnNotLike", Family.ARN, "like", negated=True),
        Operator("Bool", Family.BOOL, "equals"),
        Operator("BinaryEquals", Family.BINARY, "equals"),
        Operator("IpAddress", Family.IP, "ip"),
        Operator("NotIpAddress", Family.IP, "ip", negated=True),
        Operator("Null", Family.NULL, "null"),
    ]
    for family in (Family.NUMERIC, Family.DATE):
        ops += [
            Operator(f"{family}Equals", family, "equals"),
            Operator(f"{family}NotEquals", family, "equals", negated=True),
            Operator(f"{family}LessThan", family, "lt"),
            Operator(f"{family}LessThanEquals", family, "le"),
            Operator(f"{family}GreaterThan", family, "gt"),
            Operator(f"{family}GreaterThanEquals", family, "ge"),
        ]
    return {op.name: op for op in ops}


OPERATORS: Mapping[str, Operator] = _operators()


@dataclass(frozen=True, slots=True)
class Condition:
    """One key under one operator: ``"ForAnyValue:StringLikeIfExists": {"key": [values]}``.

    ``key`` is lower case; ``values`` are strings as IAM compares them ("true", "10").
    """

    operator: Operator
    key: str
    values: tuple[str, ...]
    qualifier: Qualifier | None = None
    if_exists: bool = False

    @property
    def spelling(self) -> str:
        prefix = f"{self.qualifier}:" if self.qualifier else ""
        return prefix + self.operator.name + ("IfExists" if self.if_exists else "")


@dataclass(frozen=True, slots=True)
class Principals:
    """A Principal or NotPrincipal element. ``aws`` holds ARNs (account ids made root ARNs),
    ``"*"`` for everyone; ``Principal: "*"`` is ``aws=("*",)``."""

    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return "*" in self.aws


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement. Exactly one of ``actions``/``not_actions`` is set; ``resources`` and
    ``not_resources`` may both be None in a resource or trust policy (the resource is the
    one the policy is attached to); ``principal``/``not_principal`` only outside identity
    policies. ``index`` is the statement's place in the policy, from 0."""

    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Principals | None
    not_principal: Principals | None
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"#{self.index}"


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy. ``name`` labels it in decisions (a policy ARN or inline name)."""

    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    name: str = ""

    @property
    def uses_variables(self) -> bool:
        """Whether ``${...}`` is read as a policy variable (only under 2012-10-17)."""
        return self.version == VERSION_2012


def parse_policy(text: str, *, kind: PolicyKind | str, name: str = "") -> Policy:
    """``text`` as a ``Policy`` of ``kind``, or ``PolicyInvalid`` naming the problem."""
    kind = PolicyKind(kind)
    if len(text) > MAX_TEXT_LENGTH:
        _fail(f"Policy document is longer than {MAX_TEXT_LENGTH} characters")
    try:
        document = parse_json(text, max_depth=MAX_DEPTH)
    except JsonInvalid as exc:
        _fail(f"Syntax errors in policy: {exc.reason}")
    if not isinstance(document, dict):
        _fail("Syntax errors in policy: the document must be a JSON object")
    for field in document:
        if field not in _TOP_FIELDS:
            _fail(f"Unknown field {_show(field)}")
    version = document.get("Version")
    if version is not None and version not in (VERSION_2012, VERSION_2008):
        _fail(
            f"Policy document must be version {VERSION_2012} or {VERSION_2008}, "
            f"not {_show(version)}"
        )
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        _fail("Id must be a string")
    if "Statement" not in document:
        _fail("Missing required field Statement")
    raw = document["Statement"]
    raw_statements = raw if isinstance(raw, list) else [raw]
    if not raw_statements:
        _fail("Policy document must contain at least one statement")
    statements = tuple(_statement(i, s, kind) for i, s in enumerate(raw_statements))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        _fail("Statement IDs (SID) in a single policy must be unique.")
    return Policy(kind, version, policy_id, statements, name or policy_id or "")


def _fail(message: str) -> NoReturn:
    raise PolicyInvalid(message)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _statement(index: int, raw: Any, kind: PolicyKind) -> Statement:
    if not isinstance(raw, dict):
        _fail("Syntax errors in policy: a statement must be a JSON object")
    for field in raw:
        if field not in _STATEMENT_FIELDS:
            _fail(f"Statement has unknown field {_show(field)}")
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            _fail("Sid must be a string")
        if kind is PolicyKind.IDENTITY and not _SID.fullmatch(sid):
            _fail(
                "Statement IDs (SID) must be alpha-numeric. Check that your input "
                "satisfies the regular expression [0-9A-Za-z]*"
            )
    if "Effect" not in raw:
        _fail("Missing required field Effect")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        _fail(f"Invalid effect: {_show(effect)}")
    actions, not_actions = _pair(raw, "Action", "NotAction", _action)
    if actions is None and not_actions is None:
        _fail("Policy statement must contain actions.")
    resources, not_resources = _pair(raw, "Resource", "NotResource", _resource)
    if kind is PolicyKind.TRUST and (resources is not None or not_resources is not None):
        _fail("Has prohibited field Resource")
    if kind is PolicyKind.IDENTITY and resources is None and not_resources is None:
        _fail("Policy statement must contain resources.")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind is PolicyKind.IDENTITY and has_principal:
        _fail("Principal not allowed in identity-based policy")
    if kind is not PolicyKind.IDENTITY and not has_principal:
        _fail("Missing required field Principal")
    if "Principal" in raw and "NotPrincipal" in raw:
        _fail("Statement cannot contain both Principal and NotPrincipal")
    principal = _principals(raw["Principal"]) if "Principal" in raw else None
    not_principal = _principals(raw["NotPrincipal"]) if "NotPrincipal" in raw else None
    conditions = _conditions(raw["Condition"]) if "Condition" in raw else ()
    return Statement(
        index,
        sid or None,
        Effect(effect),
        actions,
        not_actions,
        resources,
        not_resources,
        principal,
        not_principal,
        conditions,
    )


def _strings(value: Any, field: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        _fail(f"{field} must be a string or a non-empty list of strings")
    return tuple(items)


def _pair(
    raw: dict[str, Any], field: str, negated: str, check: Callable[[str], None]
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if field in raw and negated in raw:
        _fail(f"Statement cannot contain both {field} and {negated}")
    out: list[tuple[str, ...] | None] = [None, None]
    for slot, name in enumerate((field, negated)):
        if name in raw:
            values = _strings(raw[name], name)
            for value in values:
                check(value)
            out[slot] = values
    return out[0], out[1]


def _action(action: str) -> None:
    if action == "*":
        return
    vendor, colon, rest = action.partition(":")
    if not colon:
        _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    if ":" in rest:
        _fail("Actions/Condition can contain only one colon.")
    if not _VENDOR.fullmatch(vendor):
        _fail(f"Vendor {_show(vendor)} is not valid")
    if not _ACTION_NAME.fullmatch(rest):
        _fail(f"Action {_show(action)} is not valid")


def _resource(resource: str) -> None:
    if resource != "*" and not resource.startswith("arn:"):
        _fail(f'Resource {_show(resource)} must be in ARN format or "*".')


def _principals(raw: Any) -> Principals:
    if raw == "*":
        return Principals(aws=("*",))
    if not isinstance(raw, dict) or not raw:
        _fail(f"Invalid principal in policy: {_show(raw)}")
    found: dict[str, tuple[str, ...]] = {}
    for field, value in raw.items():
        if field not in _PRINCIPAL_TYPES:
            _fail(f"Invalid principal in policy: {_show(field)}")
        values = _strings(value, f"Principal {field}")
        if field == "AWS":
            values = tuple(_aws_principal(v) for v in values)
        elif any(not v or v.isspace() for v in values):
            _fail(f'Invalid principal in policy: "{field}":""')
        found[field] = values
    return Principals(
        aws=found.get("AWS", ()),
        service=found.get("Service", ()),
        federated=found.get("Federated", ()),
        canonical_user=found.get("CanonicalUser", ()),
    )


def _aws_principal(value: str) -> str:
    if value == "*":
        return value
    if _ACCOUNT_ID.fullmatch(value):
        return f"arn:aws:iam::{value}:root"
    if _PRINCIPAL_ARN.fullmatch(value):
        return value
    _fail(f'Invalid principal in policy: "AWS":"{_show(value)}"')


def _conditions(raw: Any) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        _fail("Condition must be a JSON object of operators")
    out: list[Condition] = []
    for spelling, block in raw.items():
        operator, qualifier, if_exists = _operator(spelling)
        if not isinstance(block, dict) or not block:
            _fail(f"Condition operator {spelling} must map condition keys to values")
        for key, value in block.items():
            if not key or ":" not in key:
                _fail(f"Condition key {_show(key)} is not valid; keys look like aws:SourceIp")
            values = tuple(_condition_value(v, spelling) for v in _list(value, spelling))
            for v in values:
                _check_value(operator, v, spelling)
            out.append(Condition(operator, key.lower(), values, qualifier, if_exists))
    return tuple(out)


def _operator(spelling: str) -> tuple[Operator, Qualifier | None, bool]:
    qualifier: Qualifier | None = None
    name = spelling
    prefix, colon, rest = spelling.partition(":")
    if colon:
        if prefix not in ("ForAnyValue", "ForAllValues"):
            _fail(f"Unknown condition operator {_show(spelling)}")
        qualifier, name = Qualifier(prefix), rest
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name.removesuffix("IfExists") if if_exists else name
    operator = OPERATORS.get(base)
    if operator is None or (if_exists and operator.family is Family.NULL):
        _fail(f"Unknown condition operator {_show(spelling)}")
    return operator, qualifier, if_exists


def _list(value: Any, spelling: str) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    if not items:
        _fail(f"Condition operator {spelling} has a key with no values")
    return items


def _condition_value(value: Any, spelling: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    _fail(f"Condition operator {spelling} takes strings, numbers or booleans as values")


def _check_value(operator: Operator, value: str, spelling: str) -> None:
    """Values the operator could never compare are refused now, not ignored later."""
    family = operator.family
    if family is Family.NUMERIC and parse_number(value) is None:
        _fail(f"Condition operator {spelling} needs numbers, not {_show(value)}")
    if family is Family.DATE and parse_date(value) is None:
        _fail(f"Condition operator {spelling} needs dates, not {_show(value)}")
    if family is Family.IP and parse_network(value) is None:
        _fail(f"Condition operator {spelling} needs IP addresses or CIDRs, not {_show(value)}")
    if family in (Family.BOOL, Family.NULL) and value.lower() not in ("true", "false"):
        _fail(f"Condition operator {spelling} needs true or false, not {_show(value)}")


def parse_number(text: str) -> Decimal | None:
    """A number as IAM's Numeric operators read it: integers and decimals, no NaN."""
    if len(text) > 64:
        return None
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def parse_date(text: str) -> datetime | None:
    """An ISO 8601 date or date-time (naive ones in UTC), or epoch seconds."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        try:
            return datetime.fromtimestamp(int(text), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
