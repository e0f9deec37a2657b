"""What every ECR operation handler gets, and the small helpers they share."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dockyard.domain.errors import DockyardError, InvalidRequest, JsonInvalid
from dockyard.domain.identity import Caller
from dockyard.domain.jsontext import parse_json
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.regions import registry_host
from dockyard.services import Registry

T = TypeVar("T")


class AccessDenied(DockyardError):
    def __init__(self, principal_arn: str, action: str, resource: str) -> None:
        self.principal_arn, self.action, self.resource = principal_arn, action, resource

    def describe(self) -> str:
        return (
            f"User: {self.principal_arn} is not authorized to perform: ecr:{self.action} "
            f"on resource: {self.resource}"
        )


@dataclass(frozen=True, slots=True)
class Context:
    registry: Registry
    caller: Caller
    operation: str
    public_url: str
    region: str  # the request's, from its SigV4 scope: each region is a registry of its own

    @property
    def account_id(self) -> str:
        return self.caller.principal.account_id

    def scope(self, account_id: str | None = None) -> Scope:
        """A registry of this region: the caller's own unless another account is named."""
        return self.registry.scope_of(account_id or self.account_id, self.region)

    def registry_id(self, body: dict[str, Any]) -> str:
        """The registryId asked for, else the caller's account. Another account's registry
        is reachable as far as its policies allow, which the dispatch checked already."""
        return str(body.get("registryId") or self.account_id)

    def key(self, body: dict[str, Any]) -> RepositoryKey:
        return self.registry.key(str(body["repositoryName"]), self.registry_id(body), self.region)

    def arn(self, key: RepositoryKey) -> str:
        return f"arn:aws:ecr:{key.scope.region}:{key.scope.account_id}:repository/{key.name}"

    def uri(self, key: RepositoryKey) -> str:
        return f"{self.host(key.scope)}/{key.name}"

    def host(self, scope: Scope) -> str:
        """The host a registry is pulled from: ECR's own shape under the registry domain,
        else the one public URL's host for every registry."""
        domain = self.registry.settings.registry_domain
        return registry_host(scope, domain) if domain else urlsplit(self.public_url).netloc

    def proxy_endpoint(self, scope: Scope) -> str:
        """The URL a login is for (the public URL's scheme: https behind a TLS proxy)."""
        return f"{urlsplit(self.public_url).scheme}://{self.host(scope)}"


def timestamp(moment: datetime) -> float:
    return moment.timestamp()


def encode_token(cursor: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": cursor}).encode()).decode()


def decode_token(token: str | None, convert: Callable[[Any], T]) -> T | None:
    """The cursor in a nextToken we made (``convert`` checks its shape); None at the start."""
    if token is None:
        return None
    try:
        return convert(parse_json(base64.urlsafe_b64decode(token.encode()))["after"])
    except (JsonInvalid, ValueError, KeyError, TypeError):
        raise InvalidRequest(
            "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid token'"
        ) from None


def tag_cursor(value: Any) -> tuple[int, str]:
    manifest_id, tag = value
    return int(manifest_id), str(tag)
