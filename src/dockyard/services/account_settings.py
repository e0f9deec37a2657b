"""Account settings (GetAccountSetting / PutAccountSetting)."""

from __future__ import annotations

from dockyard.domain.errors import InvalidRequest
from dockyard.domain.records import Scope
from dockyard.metadata import IdentityStore
from dockyard.services.threads import blocking

# name -> (allowed values, default). Blob mounting is on by default here (ECR's
# default is off) because OCI clients expect mounts to work; an operator can turn
# it off per account.
KNOWN: dict[str, tuple[tuple[str, ...], str]] = {
    "BASIC_SCAN_TYPE_VERSION": (("AWS_NATIVE", "CLAIR"), "AWS_NATIVE"),
    "REGISTRY_POLICY_SCOPE": (("V1", "V2"), "V2"),
    "BLOB_MOUNTING": (("ENABLED", "DISABLED"), "ENABLED"),
}


class AccountSettings:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    async def get(self, scope: Scope, name: str) -> str:
        allowed = self._known(name)
        value = await blocking(self._store.setting, scope.account_id, scope.region, name)
        return value or allowed[1]

    async def put(self, scope: Scope, name: str, value: str) -> str:
        allowed, _ = self._known(name)
        if value not in allowed:
            raise InvalidRequest(f"value of {name} must be one of {', '.join(allowed)}")
        await blocking(self._store.put_setting, scope.account_id, scope.region, name, value)
        return value

    @staticmethod
    def _known(name: str) -> tuple[tuple[str, ...], str]:
        if name not in KNOWN:
            raise InvalidRequest(f"unknown account setting {name!r}; known: {', '.join(KNOWN)}")
        return KNOWN[name]
