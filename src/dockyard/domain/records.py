"""What the registry stores about its content, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dockyard.domain.digests import Digest
from dockyard.domain.immutability import MutabilityRule
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
    config_media_type: str | None
    layers_size: int


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
    last_part_size: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[str]
    more: bool


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    mutability: MutabilityRule = field(default_factory=MutabilityRule)
    scan_on_push: bool = False
    encryption_type: str = "AES256"
    kms_key: str | None = None


@dataclass(frozen=True, slots=True)
class Repository:
    key: RepositoryKey
    created_at: datetime
    config: RepositoryConfig
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One image (a manifest) of a repository, with what ECR reports about it."""

    digest: Digest
    tags: tuple[str, ...]
    size: int
    pushed_at: datetime
    media_type: str
    artifact_media_type: str | None
    last_pulled_at: datetime | None
    status: str = "ACTIVE"  # ACTIVE, ARCHIVED or ACTIVATING
    archived_at: datetime | None = None
    activated_at: datetime | None = None
    subject: Digest | None = None  # the image a referrer (signature, SBOM, ...) is about


@dataclass(frozen=True, slots=True)
class PutOutcome:
    digest: Digest
    subject: Digest | None
    new_manifest: bool
    tag_moved: bool
    restored: bool = False  # an archived image pushed again
    replica: bool = False  # written by replication, which replicates no replica again


@dataclass(frozen=True, slots=True)
class ImageId:
    """How ECR names an image: by digest, by tag, or both (kept as given, for failures)."""

    digest: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class ImageFailure:
    image_id: ImageId
    code: str  # ECR's ImageFailureCode
    reason: str
