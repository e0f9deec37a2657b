"""Secrets Manager's secrets: kept sealed, opened only to be handed to their reader.

Values are sealed with the node's secrets key (``auth.keys.SecretBox``), the one that seals
access-key secrets, before they reach the database, and opened only for GetSecretValue and
for the pull-through cache's use of its credentials. Nothing here logs, and no error says
anything about a value.

A deleted secret waits out its recovery window (7 to 30 days, 30 by default) scheduled for
deletion: described and listed on request, refused to every read and write, its name still
taken, until RestoreSecret brings it back as it was; ForceDeleteWithoutRecovery removes it
at once.
"""

from __future__ import annotations

import base64
import secrets as _random
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.auth.keys import KeyMaterialError, SecretBox
from dockyard.domain.errors import (
    InvalidRequest,
    SecretMarkedForDeletion,
    SecretNotFound,
    SecretRequestInvalid,
    SecretUndecryptable,
)
from dockyard.domain.records import Scope
from dockyard.domain.secrets import (
    CURRENT,
    SUFFIX_LENGTH,
    SecretRecord,
    SecretValue,
    SecretVersion,
    check_name,
    move_label,
    parse_secret_id,
    retagged,
)
from dockyard.metadata import SealedVersion, SecretStore
from dockyard.services.deletion import Deleter, SecretTarget
from dockyard.services.threads import blocking

__all__ = ["DEFAULT_RECOVERY_DAYS", "NewSecret", "Secrets"]

DEFAULT_RECOVERY_DAYS = 30
RECOVERY_DAYS = range(7, 31)
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class NewSecret:
    name: str
    value: SecretValue | None = None
    version_id: str | None = None  # ClientRequestToken; made here when absent
    description: str | None = None
    kms_key_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


def _now() -> datetime:
    return datetime.now(UTC)


class Secrets:
    def __init__(
        self,
        store: SecretStore,
        box: SecretBox,
        deleter: Deleter,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._box = box
        self._deleter = deleter
        self._clock = clock

    # Secrets Manager's operations ----------------------------------------------

    async def create(self, scope: Scope, new: NewSecret) -> tuple[SecretRecord, str | None]:
        """The new secret and the id of its first version (None when it has no value)."""
        check_name(new.name)
        sealed = None
        if new.value is not None:
            sealed = self._seal(new.version_id or str(uuid.uuid4()), new.value)
        suffix = "".join(_random.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
        record = await blocking(
            self._store.create,
            scope,
            new.name,
            suffix,
            new.description,
            new.kms_key_id,
            new.tags,
            self._clock(),
            sealed,
        )
        return record, None if sealed is None else sealed.version_id

    async def put_value(
        self,
        scope: Scope,
        secret_id: str,
        value: SecretValue,
        version_id: str | None,
        stages: Sequence[str] | None,
    ) -> tuple[SecretRecord, SecretVersion]:
        record = await self.describe(scope, secret_id)
        sealed = self._seal(version_id or str(uuid.uuid4()), value)

        def same(binary: bool, ciphertext: bytes) -> bool:
            return binary == sealed.binary and self._open(record.name, ciphertext) == (
                self._text(value)
            )

        return await blocking(
            self._store.put_version,
            scope,
            record.name,
            sealed,
            list(stages or (CURRENT,)),
            self._clock(),
            same,
        )

    async def update(
        self,
        scope: Scope,
        secret_id: str,
        details: Mapping[str, str | None],
        value: SecretValue | None,
        version_id: str | None,
    ) -> tuple[SecretRecord, SecretVersion | None]:
        """UpdateSecret: new ``details`` (description, kms_key_id), and a new AWSCURRENT
        version when ``value`` is given (that version, else None)."""
        record = await self.describe(scope, secret_id)
        if details:
            await blocking(self._store.update_details, scope, record.name, details, self._clock())
        if value is None:
            return record, None
        return await self.put_value(scope, record.arn, value, version_id, None)

    async def move_stage(
        self,
        scope: Scope,
        secret_id: str,
        stage: str,
        remove_from: str | None,
        move_to: str | None,
    ) -> SecretRecord:
        """UpdateSecretVersionStage (see ``domain.secrets.move_label``)."""
        record = await self.describe(scope, secret_id)

        def change(labels: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
            return move_label(labels, stage, remove_from, move_to)

        await blocking(self._store.relabel, scope, record.name, change, self._clock())
        return record

    async def retag(
        self,
        scope: Scope,
        secret_id: str,
        add: Sequence[tuple[str, str]] = (),
        remove: Sequence[str] = (),
    ) -> None:
        """TagResource (``add``) and UntagResource (``remove``)."""
        record = await self.describe(scope, secret_id)

        def change(tags: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
            return retagged(tags, add, remove)

        await blocking(self._store.retag, scope, record.name, change, self._clock())

    async def get_value(
        self, scope: Scope, secret_id: str, version_id: str | None, stage: str | None
    ) -> tuple[SecretRecord, SecretVersion, SecretValue]:
        record = await self.describe(scope, secret_id)
        if record.deletion_date is not None:
            raise SecretMarkedForDeletion(record.name)
        if version_id is not None:
            version = record.version(version_id)
            if version is not None and stage is not None and stage not in version.stages:
                version = None
        else:
            version = record.version_with(stage or CURRENT)
        if version is None:
            what = f"version {version_id}" if version_id else f"stage {stage or CURRENT}"
            raise SecretNotFound(f"{record.name} ({what})", "secret value")
        binary, ciphertext = await blocking(
            self._store.sealed_value, scope, record.name, version.version_id
        )
        text = self._open(record.name, ciphertext)
        value = SecretValue(binary=base64.b64decode(text)) if binary else SecretValue(text=text)
        return record, version, value

    async def describe(self, scope: Scope, secret_id: str) -> SecretRecord:
        """The secret ``secret_id`` names (a name, a full or partial ARN), scheduled for
        deletion or not; SecretNotFound when there is none."""
        found = await self.find(scope, secret_id)
        if found is None:
            raise SecretNotFound(secret_id)
        return found

    async def find(self, scope: Scope, secret_id: str) -> SecretRecord | None:
        return await blocking(self._store.find, scope, parse_secret_id(secret_id), self._clock())

    async def listing(self, scope: Scope, include_deleted: bool) -> list[SecretRecord]:
        return await blocking(self._store.list, scope, self._clock(), include_deleted)

    async def delete(
        self, scope: Scope, secret_id: str, window_days: int | None, force: bool
    ) -> tuple[SecretRecord, datetime]:
        """Schedule the secret's deletion (or, with ``force``, delete it now); the secret
        and the date it goes (went)."""
        if force and window_days is not None:
            raise InvalidRequest(
                "ForceDeleteWithoutRecovery and RecoveryWindowInDays cannot be used together"
            )
        days = DEFAULT_RECOVERY_DAYS if window_days is None else window_days
        if days not in RECOVERY_DAYS:
            raise InvalidRequest(
                f"RecoveryWindowInDays must be from {RECOVERY_DAYS.start} to "
                f"{RECOVERY_DAYS.stop - 1}, not {days}"
            )
        record = await self.describe(scope, secret_id)
        now = self._clock()
        if force:
            await self._deleter.delete(SecretTarget(scope, record.name))
            return record, now
        date = now + timedelta(days=days)
        await blocking(self._store.schedule_deletion, scope, record.name, date, now)
        return record, date

    async def restore(self, scope: Scope, secret_id: str) -> SecretRecord:
        """Cancel the secret's scheduled deletion, values and labels untouched; a secret not
        scheduled is left as it is, as AWS does."""
        record = await self.describe(scope, secret_id)
        await blocking(self._store.cancel_deletion, scope, record.name, self._clock())
        return record

    # For the pull-through cache ----------------------------------------------------

    async def current_text(self, scope: Scope, secret_id: str) -> str:
        """The AWSCURRENT text of a secret of ``scope`` (a name or an ARN, which must be of
        ``scope``): SecretNotFound, SecretMarkedForDeletion or SecretUndecryptable."""
        record, _, value = await self.get_value(scope, secret_id, None, None)
        if value.text is None:
            raise SecretRequestInvalid(f"The secret '{record.name}' holds binary, not text")
        return value.text

    # Sealing -----------------------------------------------------------------------

    @staticmethod
    def _text(value: SecretValue) -> str:
        if value.binary is not None:
            return base64.b64encode(value.binary).decode("ascii")
        if value.text is None:
            raise InvalidRequest("A secret value is either SecretString or SecretBinary")
        return value.text

    def _seal(self, version_id: str, value: SecretValue) -> SealedVersion:
        if value.text is not None and value.binary is not None:
            raise InvalidRequest("A secret value is SecretString or SecretBinary, not both")
        return SealedVersion(
            version_id, value.binary is not None, self._box.seal(self._text(value))
        )

    def _open(self, name: str, ciphertext: bytes) -> str:
        try:
            return self._box.open(ciphertext)
        except KeyMaterialError:
            raise SecretUndecryptable(name) from None
