"""Condition blocks, evaluated as IAM documents them.

Per condition (one operator, one key): several values are OR'ed; the conditions of a
statement, across keys and operators, are AND'ed (the statement's caller does that).

- A key missing from the request: a positive operator is false, a negated one
  (``StringNotEquals``, ``NotIpAddress``, ...) is true, ``...IfExists`` is true.
- A multivalued key without a set qualifier: a positive operator holds when any request
  value matches any policy value; a negated one when no request value matches any.
- ``ForAnyValue:``: at least one request value satisfies the operator (false for a missing
  key or an empty set); ``ForAllValues:``: every request value does (true for a missing key
  or an empty set). Under a qualifier a negated operator is applied value by value.
- ``Null``: "true" holds when the key is missing, "false" when it is present.
- Policy variables resolve in String and Arn values (2012-10-17 policies only). A value
  whose variable has no value in the request makes the whole condition false, whatever the
  operator: the element does not match, and neither does the statement that holds it.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from typing import Any

from dockyard.domain.policy.language import (
    Condition,
    Family,
    Qualifier,
    parse_date,
    parse_network,
    parse_number,
)
from dockyard.domain.policy.patterns import STAR, Lookup, Pattern, arn_matches, matches, resolve

# Context keys are stored lower case; a multivalued key is a tuple.
ContextValue = str | tuple[str, ...]
RequestContext = Mapping[str, ContextValue]


def holds(condition: Condition, context: RequestContext, lookup: Lookup | None) -> bool:
    op = condition.operator
    found = context.get(condition.key)
    values: tuple[str, ...] = (found,) if isinstance(found, str) else (found or ())
    if op.family is Family.NULL:
        absent = not values
        return any((policy.lower() == "true") == absent for policy in condition.values)
    if not values:
        if condition.qualifier is Qualifier.FOR_ALL_VALUES or condition.if_exists:
            return True
        if condition.qualifier is Qualifier.FOR_ANY_VALUE:
            return False
        return op.negated
    tests = _policy_values(condition, lookup)
    if tests is None:
        return False
    positive = [any(_compare(condition, value, test) for test in tests) for value in values]
    if condition.qualifier is None:
        return not any(positive) if op.negated else any(positive)
    outcomes = [p != op.negated for p in positive]
    if condition.qualifier is Qualifier.FOR_ALL_VALUES:
        return all(outcomes)
    return any(outcomes)


def _policy_values(condition: Condition, lookup: Lookup | None) -> list[Pattern] | None:
    """The policy's values as patterns, variables resolved; None if one cannot be."""
    family = condition.operator.family
    out: list[Pattern] = []
    for value in condition.values:
        if family in (Family.STRING, Family.ARN):
            pattern = resolve(value, lookup)
            if pattern is None:
                return None
            out.append(pattern)
        else:
            out.append((value,))
    return out


def _text(pattern: Pattern) -> str:
    """The pattern read as plain text: Equals operators have no wildcards."""
    return "".join(
        piece if isinstance(piece, str) else ("*" if piece == STAR else "?") for piece in pattern
    )


def _compare(condition: Condition, value: str, pattern: Pattern) -> bool:
    """Whether one request value matches one policy value, before any negation."""
    op = condition.operator
    family, test = op.family, op.test
    if family is Family.ARN:
        return arn_matches(value, pattern)
    if family is Family.STRING:
        if test == "like":
            return matches(value, pattern)
        if op.ignore_case:
            return value.casefold() == _text(pattern).casefold()
        return value == _text(pattern)
    policy = _text(pattern)
    if family is Family.BOOL:
        return value.lower() == policy.lower()
    if family is Family.BINARY:
        return value == policy
    if family is Family.IP:
        network = parse_network(policy)
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return network is not None and address in network
    if family is Family.NUMERIC:
        left_number, right_number = parse_number(value), parse_number(policy)
        if left_number is None or right_number is None:
            return False
        return bool(_ORDER[test](left_number, right_number))
    left_date, right_date = parse_date(value), parse_date(policy)
    if left_date is None or right_date is None:
        return False
    return bool(_ORDER[test](left_date, right_date))


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "equals": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
