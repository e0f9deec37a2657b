"""Who is asking: accounts, principals, access keys, and the IAM entities behind them.

IAM is global, as in AWS: every entity here belongs to an account and to no region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# IAM's name rules (botocore's userNameType, groupNameType, roleNameType, policyNameType).
_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH = re.compile(r"/|/[\x21-\x7e]*/")
# AWS's prefixes of unique ids, by what they name.
USER_ID_PREFIX = "AIDA"
GROUP_ID_PREFIX = "AGPA"
ROLE_ID_PREFIX = "AROA"
POLICY_ID_PREFIX = "ANPA"
ACCESS_KEY_PREFIX = "AKIA"
SESSION_KEY_PREFIX = "ASIA"
AWS_MANAGED_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


class PrincipalKind(StrEnum):
    ROOT = "root"
    USER = "user"
    ASSUMED_ROLE = "assumed-role"


class KeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class OwnerKind(StrEnum):
    """What an inline policy or a policy attachment belongs to."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"


def valid_name(name: str, limit: int) -> bool:
    return 0 < len(name) <= limit and _NAME.fullmatch(name) is not None


def valid_path(path: str) -> bool:
    return len(path) <= 512 and _PATH.fullmatch(path) is not None


@dataclass(frozen=True, slots=True)
class Principal:
    """A user, an account's root, or a session of an assumed role.

    For an assumed role ``name`` is the role's name and ``session_name`` the session's.
    ``path`` and ``unique_id`` describe the entity (a user's "AIDA...", a role's "AROA...")
    and take no part in equality, so a principal named by account, name and kind alone
    (as the command line does) is the same principal as the stored one.
    """

    account_id: str
    name: str
    kind: PrincipalKind
    path: str = field(default="/", compare=False)
    unique_id: str | None = field(default=None, compare=False)
    session_name: str | None = None

    @property
    def arn(self) -> str:
        if self.kind is PrincipalKind.ROOT:
            return f"arn:aws:iam::{self.account_id}:root"
        if self.kind is PrincipalKind.ASSUMED_ROLE:
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{self.session_name}"
        return f"arn:aws:iam::{self.account_id}:user{self.path}{self.name}"

    @property
    def role_arn(self) -> str | None:
        """The role an assumed-role session belongs to; None for users and roots."""
        if self.kind is not PrincipalKind.ASSUMED_ROLE:
            return None
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"

    @property
    def user_id(self) -> str:
        """``aws:userid`` as AWS shapes it: the account id for a root, "AIDA..." for a
        user, "AROA...:session" for an assumed role."""
        if self.kind is PrincipalKind.ROOT:
            return self.account_id
        if self.kind is PrincipalKind.ASSUMED_ROLE:
            return f"{self.unique_id}:{self.session_name}"
        return self.unique_id or self.name

    @property
    def principal_type(self) -> str:
        """``aws:PrincipalType``: Account, User or AssumedRole."""
        return {
            PrincipalKind.ROOT: "Account",
            PrincipalKind.USER: "User",
            PrincipalKind.ASSUMED_ROLE: "AssumedRole",
        }[self.kind]


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    principal: Principal
    status: KeyStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    """CreateAccessKey's answer: the key and its secret, shown this once."""

    key: AccessKey
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's principal, the key it proved, and, for temporary
    credentials, when they stop working."""

    principal: Principal
    access_key_id: str
    session_expires_at: datetime | None = None

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @property
    def arn(self) -> str:
        return self.principal.arn

    @property
    def user_id(self) -> str:
        return self.principal.user_id


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    created_at: datetime

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    name: str
    path: str
    user_id: str
    created_at: datetime

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user{self.path}{self.name}"

    @property
    def principal(self) -> Principal:
        return Principal(self.account_id, self.name, PrincipalKind.USER, self.path, self.user_id)


@dataclass(frozen=True, slots=True)
class Group:
    account_id: str
    name: str
    path: str
    group_id: str
    created_at: datetime

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:group{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class Role:
    account_id: str
    name: str
    path: str
    role_id: str
    trust_policy: str  # AssumeRolePolicyDocument, as given
    max_session_duration: int  # seconds
    description: str | None
    created_at: datetime

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy: customer-managed (stored) or AWS-managed (``account_id`` "aws")."""

    account_id: str
    name: str
    path: str
    policy_id: str
    document: str
    default_version: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    attachment_count: int = 0

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:policy{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    owner_kind: OwnerKind
    owner_name: str
    name: str
    document: str


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class SessionCredentials:
    """Temporary credentials from AssumeRole; the secret and token are shown once."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


@dataclass(frozen=True, slots=True)
class AssumedRole:
    """AssumeRole's answer: the credentials and the session's identity."""

    credentials: SessionCredentials
    principal: Principal

    @property
    def assumed_role_id(self) -> str:
        return self.principal.user_id

    @property
    def arn(self) -> str:
        return self.principal.arn


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """GetCallerIdentity's answer."""

    user_id: str
    account: str
    arn: str


@dataclass(frozen=True, slots=True)
class RoleArn:
    account_id: str
    path: str
    name: str


def parse_role_arn(arn: str) -> RoleArn | None:
    """``arn:aws:iam::ACCOUNT:role/PATH/NAME`` taken apart; None for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "iam"] or parts[3] != "":
        return None
    account, resource = parts[4], parts[5]
    if not ACCOUNT_ID.fullmatch(account) or not resource.startswith("role/"):
        return None
    path, _, name = resource[len("role") :].rpartition("/")
    if not name:
        return None
    return RoleArn(account, path + "/", name)


def policy_arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(account or "aws", path, name) of a managed policy ARN; None for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "iam"] or parts[3] != "":
        return None
    account, resource = parts[4], parts[5]
    if not (account == "aws" or ACCOUNT_ID.fullmatch(account)):
        return None
    if not resource.startswith("policy/"):
        return None
    path, _, name = resource[len("policy") :].rpartition("/")
    if not name:
        return None
    return account, path + "/", name
