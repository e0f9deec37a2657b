"""What each job kind carries: one frozen dataclass per kind, to and from JSON only here.

A payload is stored as JSON in the jobs table and read back by whichever node
claims the job, possibly a newer version than the one that queued it (upgrades
keep the table). Reading is lenient only where older versions wrote less: a
payload without ``region`` is in the registry's default region, since payloads
once named the account alone. Anything else that does not read back — a missing
field, a wrong type, a bad repository name or digest — is a ``PermanentJobError``:
running the job again reads the same row.

Every registry object is keyed by (account, region), so every payload that names
a repository names both.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from dockyard.domain.digests import Digest
from dockyard.domain.errors import DockyardError
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope


class PermanentJobError(Exception):
    """A job that cannot succeed by running again (bad payload, vanished subject)."""


class JobPayload(Protocol):
    """A frozen dataclass whose class names the job kind it is the payload of."""

    KIND: ClassVar[str]


P = TypeVar("P", bound=JobPayload)


# Each field type a payload may use, read from JSON (raising ValueError or a domain
# error on a bad value) and written back.
def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type(value).__name__}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return float(value)


_READERS: dict[Any, Callable[[Any], Any]] = {
    str: _text,
    bool: _flag,
    float: _seconds,
    RepositoryName: lambda value: RepositoryName.parse(_text(value)),
    Digest: lambda value: Digest.parse(_text(value)),
}
_WRITERS: dict[Any, Callable[[Any], Any]] = {RepositoryName: str, Digest: str}


@functools.cache
def _fields(kind: type[Any]) -> tuple[tuple[dataclasses.Field[Any], Any, bool], ...]:
    """Each field with its type and whether it may be null (``X | None``)."""
    hints = typing.get_type_hints(kind)
    found = []
    for field in dataclasses.fields(kind):
        hint, optional = hints[field.name], False
        if isinstance(hint, types.UnionType):
            members = [m for m in typing.get_args(hint) if m is not type(None)]
            hint, optional = members[0], len(members) < len(typing.get_args(hint))
        found.append((field, hint, optional))
    return tuple(found)


def to_dict(payload: JobPayload) -> dict[str, Any]:
    """The payload as the JSON object stored in the jobs table."""
    stored = {}
    for field, hint, _ in _fields(type(payload)):
        value = getattr(payload, field.name)
        write = _WRITERS.get(hint)
        stored[field.name] = value if value is None or write is None else write(value)
    return stored


def from_dict(kind: type[P], stored: dict[str, Any], default_region: str | None = None) -> P:
    """Read a stored payload back; ``default_region`` fills in a region older rows lack."""
    if not isinstance(stored, dict):
        raise PermanentJobError(f"{kind.KIND} payload is not an object")
    values: dict[str, Any] = {}
    for field, hint, optional in _fields(kind):
        name = field.name
        if name not in stored:
            if name == "region" and default_region is not None:
                values[name] = default_region
                continue
            if field.default is dataclasses.MISSING:
                raise PermanentJobError(f"{kind.KIND} payload has no {name!r}")
            continue
        value = stored[name]
        if value is None and optional:
            values[name] = None
            continue
        try:
            values[name] = _READERS[hint](value)
        except ValueError as exc:
            raise PermanentJobError(f"{kind.KIND} payload field {name!r}: {exc}") from None
        except DockyardError as exc:
            raise PermanentJobError(
                f"{kind.KIND} payload field {name!r}: {exc.describe()}"
            ) from None
    return kind(**values)


# --------------------------------------------------------------------------- the kinds


@dataclass(frozen=True, slots=True)
class InRepository:
    """The fields of every payload about one repository, and its dedupe key."""

    account_id: str
    region: str
    repository: RepositoryName

    @property
    def key(self) -> RepositoryKey:
        return RepositoryKey(Scope(self.account_id, self.region), self.repository)

    @property
    def job_key(self) -> str:
        """Jobs of one kind with this key never run side by side (the jobs table's rule)."""
        return f"{self.account_id}/{self.region}/{self.repository.value}"


@dataclass(frozen=True, slots=True)
class GcPayload:
    """Collect garbage registry-wide; unset durations come from the settings."""

    KIND: ClassVar[str] = "gc"
    grace_seconds: float | None = None
    upload_expiry_seconds: float | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class LifecyclePayload(InRepository):
    """Apply one repository's lifecycle policy."""

    KIND: ClassVar[str] = "lifecycle"
    dry_run: bool = False

    @classmethod
    def of(cls, key: RepositoryKey, dry_run: bool = False) -> LifecyclePayload:
        return cls(key.scope.account_id, key.scope.region, key.name, dry_run)


@dataclass(frozen=True, slots=True)
class LifecycleSweepPayload:
    """Queue one ``lifecycle`` job per repository that has a policy (the periodic run)."""

    KIND: ClassVar[str] = "lifecycle-sweep"


@dataclass(frozen=True, slots=True)
class ActivatePayload(InRepository):
    """Bring an image back from the archive storage class."""

    KIND: ClassVar[str] = "activate-image"
    digest: Digest

    @classmethod
    def of(cls, key: RepositoryKey, digest: Digest) -> ActivatePayload:
        return cls(key.scope.account_id, key.scope.region, key.name, digest)


@dataclass(frozen=True, slots=True)
class ScanPayload(InRepository):
    """Scan one image."""

    KIND: ClassVar[str] = "scan-image"
    digest: Digest

    @classmethod
    def of(cls, key: RepositoryKey, digest: Digest) -> ScanPayload:
        return cls(key.scope.account_id, key.scope.region, key.name, digest)


@dataclass(frozen=True, slots=True)
class RescanPayload(InRepository):
    """Queue a scan of every image of one continuously scanned repository."""

    KIND: ClassVar[str] = "rescan-repository"

    @classmethod
    def of(cls, key: RepositoryKey) -> RescanPayload:
        return cls(key.scope.account_id, key.scope.region, key.name)


@dataclass(frozen=True, slots=True)
class RescanSweepPayload:
    """Queue one ``rescan-repository`` job per continuously scanned repository (new
    vulnerability data). The kind keeps the name of the one job that once did it all."""

    KIND: ClassVar[str] = "rescan-continuous"


@dataclass(frozen=True, slots=True)
class ReplicatePayload(InRepository):
    """Copy one image (with its children, referrers and tags) to one destination.

    The destination is named by kind and id fields, so a kind outside the deployment
    adds a value, not a payload type: an external registry is its ``destination_name``
    in the registry ``destination_account``, ``destination_region`` (the source's).
    ``backfill_id`` names the backfill that queued it.
    """

    KIND: ClassVar[str] = "replicate-image"
    digest: Digest
    destination_kind: str
    destination_account: str
    destination_region: str
    backfill_id: str | None = None
    destination_name: str | None = None


@dataclass(frozen=True, slots=True)
class BackfillPayload:
    """Walk a registry for a backfill: queue ``replicate-image`` for what it covers."""

    KIND: ClassVar[str] = "replication-backfill"
    account_id: str
    region: str
    backfill_id: str
