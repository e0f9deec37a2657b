"""Who is asking: accounts, principals and access keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PrincipalKind(StrEnum):
    ROOT = "root"
    USER = "user"


class KeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: str
    name: str
    kind: PrincipalKind

    @property
    def arn(self) -> str:
        if self.kind is PrincipalKind.ROOT:
            return f"arn:aws:iam::{self.account_id}:root"
        return f"arn:aws:iam::{self.account_id}:user/{self.name}"


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    principal: Principal
    status: KeyStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's principal and the key it proved."""

    principal: Principal
    access_key_id: str
