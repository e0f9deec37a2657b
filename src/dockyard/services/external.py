"""External registries: replication destinations outside the deployment, registered per
registry (account, region) under a name that replication rules use.

Credentials are kept as the rest of Dockyard keeps secrets: a password is sealed with the
node's secrets key (``Identity.box``, which seals access-key secrets and Secrets Manager
values) before it reaches the database, and opened only to log in to the registry; or a
Secrets Manager secret of the same account and region holds them, read when they are
needed (so rotating the secret rotates them). No answer, message or log line carries a
password.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dockyard.auth.keys import KeyMaterialError, SecretBox
from dockyard.domain.errors import (
    ExternalRegistryInUse,
    ExternalRegistryNotFound,
    InvalidRequest,
    SecretMarkedForDeletion,
    SecretNotFound,
    SecretRequestInvalid,
    SecretUndecryptable,
)
from dockyard.domain.external import (
    MAX_EXTERNAL_REGISTRIES,
    ExternalCredentials,
    ExternalRegistry,
    check_credentials,
    check_name,
    normalize_url,
    parse_secret_credentials,
)
from dockyard.domain.records import Scope
from dockyard.domain.secrets import parse_secret_id
from dockyard.metadata import ExternalRegistryStore, ReplicationStore, StoredExternal
from dockyard.remote import ClientOptions, Credentials
from dockyard.services.deletion import Deleter, ExternalRegistryTarget
from dockyard.services.named_pages import named_page
from dockyard.services.secrets import Secrets
from dockyard.services.threads import blocking

if TYPE_CHECKING:
    from dockyard.remote import RegistryClient

__all__ = ["CredentialsUnavailable", "ExternalRegistries", "ExternalSpec"]


@dataclass(frozen=True, slots=True)
class ExternalSpec:
    """CreateExternalRegistry's (and UpdateExternalRegistry's) members."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    credential_arn: str | None = None
    insecure: bool = False


class CredentialsUnavailable(Exception):
    """The registration's credentials cannot be had now (its secret gone, unreadable with
    this node's key, or no credentials): a reason, never a value."""


class ExternalRegistries:
    def __init__(
        self,
        store: ExternalRegistryStore,
        replication: ReplicationStore,
        box: SecretBox,
        secrets: Secrets,
        deleter: Deleter,
        options: ClientOptions | None = None,
    ) -> None:
        self._store = store
        self._replication = replication
        self._box = box
        self._secrets = secrets
        self._deleter = deleter
        self._options = options or ClientOptions()

    async def create(self, scope: Scope, name: str, spec: ExternalSpec) -> ExternalRegistry:
        stored = await self._checked(scope, spec)
        return await blocking(
            self._store.create,
            scope,
            check_name(name),
            stored,
            datetime.now(UTC),
            MAX_EXTERNAL_REGISTRIES,
        )

    async def update(self, scope: Scope, name: str, spec: ExternalSpec) -> ExternalRegistry:
        """Replace a registration's URL and credentials (a rotated password, a new host):
        what ``spec`` does not give, it no longer has."""
        stored = await self._checked(scope, spec)
        return await blocking(self._store.replace, scope, name, stored, datetime.now(UTC))

    async def get(self, scope: Scope, name: str) -> ExternalRegistry:
        return await blocking(self._store.get, scope, name)

    async def describe(
        self, scope: Scope, names: Sequence[str] | None, after: str | None, limit: int | None
    ) -> list[ExternalRegistry]:
        """The registry's registrations by name (``names``, each of which must exist)."""
        if not names:
            return await blocking(self._store.list, scope, None, after, limit)
        wanted = list(dict.fromkeys(names))
        found = await blocking(self._store.list, scope, wanted)

        def missing(name: str) -> Exception:
            return ExternalRegistryNotFound(name, scope.account_id)

        return named_page(found, wanted, lambda r: r.name, missing, after, limit)

    async def delete(self, scope: Scope, name: str) -> ExternalRegistry:
        """Remove a registration no replication rule names (ExternalRegistryInUse)."""
        config = await blocking(self._replication.configuration, scope)
        if any(d.is_external and d.name == name for d in config.all_destinations()):
            raise ExternalRegistryInUse(name)
        return await self._deleter.delete(ExternalRegistryTarget(scope, name))

    @contextlib.asynccontextmanager
    async def client(self, scope: Scope, name: str) -> AsyncIterator[RegistryClient]:
        """A client of the registered registry, logged in as registered."""
        from dockyard.remote import RegistryClient  # its HTTP stack loads on first use

        stored = await blocking(self._store.stored, scope, name)
        credentials = await self._credentials(scope, stored)
        options = self._options
        if stored.insecure:
            options = dataclasses.replace(options, verify_tls=False)
        given = None if credentials is None else Credentials(*_pair(credentials))
        async with RegistryClient(stored.url, given, options) as client:
            yield client

    async def _credentials(
        self, scope: Scope, stored: StoredExternal
    ) -> ExternalCredentials | None:
        if stored.sealed_password is not None and stored.username is not None:
            try:
                return ExternalCredentials(stored.username, self._box.open(stored.sealed_password))
            except KeyMaterialError as exc:
                raise CredentialsUnavailable(str(exc)) from None
        if stored.credential_arn is None:
            return None
        try:
            text = await self._secrets.current_text(scope, stored.credential_arn)
            return parse_secret_credentials(text)
        except (
            SecretNotFound,
            SecretMarkedForDeletion,
            SecretUndecryptable,
            SecretRequestInvalid,
        ) as exc:
            raise CredentialsUnavailable(exc.describe()) from None
        except ValueError as exc:
            raise CredentialsUnavailable(
                f"the secret {stored.credential_arn} holds no credentials: {exc}"
            ) from None

    async def _checked(self, scope: Scope, spec: ExternalSpec) -> StoredExternal:
        url = normalize_url(spec.url, spec.insecure)
        check_credentials(spec.username, spec.password, spec.credential_arn)
        if spec.credential_arn is not None:
            await self._check_secret(scope, spec.credential_arn)
        sealed = None if spec.password is None else self._box.seal(spec.password)
        return StoredExternal(url, spec.insecure, spec.username, sealed, spec.credential_arn)

    async def _check_secret(self, scope: Scope, arn: str) -> None:
        """The secret is of this account and region, live, opens, and holds credentials."""
        if parse_secret_id(arn).scope != scope:
            raise SecretNotFound(
                f"{arn} (an external registry's secret must be in its registry's account "
                f"{scope.account_id} and region {scope.region})"
            )
        text = await self._secrets.current_text(scope, arn)
        try:
            parse_secret_credentials(text)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid parameter at 'credentialArn': {exc}") from None


def _pair(credentials: ExternalCredentials) -> tuple[str, str]:
    return credentials.username, credentials.password
