"""IAM policies: the language (``language``), conditions, and evaluation (``evaluation``).

The names other layers use are re-exported here; import them from ``dockyard.domain.policy``.
"""

from dockyard.domain.policy.evaluation import (
    AccessRequest,
    Decision,
    PrincipalType,
    Reason,
    StatementRef,
    denial_message,
    evaluate,
)
from dockyard.domain.policy.language import (
    Condition,
    Effect,
    Policy,
    PolicyKind,
    Principals,
    Statement,
    parse_policy,
)

__all__ = [
    "AccessRequest",
    "Condition",
    "Decision",
    "Effect",
    "Policy",
    "PolicyKind",
    "PrincipalType",
    "Principals",
    "Reason",
    "Statement",
    "StatementRef",
    "denial_message",
    "evaluate",
    "parse_policy",
]
