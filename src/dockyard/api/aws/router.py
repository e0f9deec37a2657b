"""Which service a ``POST /`` is for, decided from its headers before the body is read.

JSON services are named by the ``X-Amz-Target`` prefix (``AmazonEC2ContainerRegistry_
V20150921.PutImage``). Query services name the operation only in the body (``Action=``), so
the service comes from the SigV4 credential scope (``AKID/20260101/us-east-1/iam/
aws4_request``); the service then finds the operation in the form. Anything else goes to the
default service, which answers it as it always has (an unsigned or untargeted request to
ECR gets ECR's errors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

from dockyard.api.aws.service import Service

__all__ = ["Router", "scope_service"]

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


def scope_service(headers: Mapping[str, str], query: str) -> str | None:
    """The service name of the request's SigV4 credential scope, unverified; None if absent."""
    found = _CREDENTIAL.search(headers.get("authorization", ""))
    credential = found.group(1) if found else None
    if credential is None and "X-Amz-Credential" in query:
        values = parse_qs(query).get("X-Amz-Credential")
        credential = values[0] if values else None
    if credential is None:
        return None
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


class Router:
    def __init__(self, services: Sequence[Service], default: Service) -> None:
        self.default = default
        self.services = tuple(services)
        self._by_prefix = {s.model.target_prefix: s for s in services if s.model.target_prefix}
        self._by_scope = {s.signing_name: s for s in services if not s.model.target_prefix}

    def route(self, headers: Mapping[str, str], query: str = "") -> Service:
        target = headers.get("x-amz-target")
        if target:
            return self._by_prefix.get(target.rpartition(".")[0], self.default)
        name = scope_service(headers, query)
        return self._by_scope.get(name or "", self.default)
