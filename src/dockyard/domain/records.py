"""What the registry stores about its content, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dockyard.domain.digests import Digest
from dockyard.domain.names import RepositoryName


@dataclass(frozen=True, slots=True)
class Scope:
    """Every registry object lives in one account and one region."""

    account_id: str
    region: str


@dataclass(frozen=True, slots=True)
class RepositoryKey:
    scope: Scope
    name: RepositoryName


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    media_type: str
    size: int
    payload: bytes | None  # None when only the head was asked for


@dataclass(frozen=True, slots=True)
class NewManifest:
    digest: Digest
    media_type: str
    payload: bytes
    artifact_type: str | None
    subject: Digest | None
    annotations: dict[str, str]
    blobs: tuple[Digest, ...]
    children: tuple[Digest, ...]


@dataclass(frozen=True, slots=True)
class Referrer:
    digest: Digest
    media_type: str
    size: int
    artifact_type: str | None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UploadState:
    upload_id: str
    repository: RepositoryName
    offset: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Page:
    items: list[str]
    more: bool
