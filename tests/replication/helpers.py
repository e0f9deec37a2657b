"""What the replication tests share: waiting for a status, rules, /v2 clients by host."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.replication.conftest import DOMAIN
from tests.support.ecr import ACCOUNT, login_password
from tests.support.images import MANIFEST_ACCEPT
from tests.support.servers import DockyardProcess

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """``probe()`` until it gives something other than None (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout}s")


def rule(prefix: str | None, *destinations: tuple[str, str]) -> dict[str, Any]:
    """A rule to (account, region) destinations, for repositories under ``prefix``."""
    made: dict[str, Any] = {
        "destinations": [
            {"region": region, "registryId": account} for account, region in destinations
        ]
    }
    if prefix is not None:
        made["repositoryFilters"] = [{"filter": prefix, "filterType": "PREFIX_MATCH"}]
    return made


def statuses(
    ecr: Any, name: str, digest: str, registry_id: str = ACCOUNT
) -> dict[tuple[str, str], dict[str, Any]]:
    """DescribeImageReplicationStatus as {(registryId, region): status entry}."""
    found = ecr.describe_image_replication_status(
        repositoryName=name, imageId={"imageDigest": digest}, registryId=registry_id
    )["replicationStatuses"]
    return {(s["registryId"], s["region"]): s for s in found}


def settled(
    ecr: Any, name: str, digest: str, expected: int = 1
) -> dict[tuple[str, str], dict[str, Any]]:
    """The statuses once ``expected`` destinations are no longer IN_PROGRESS."""

    def probe() -> dict[tuple[str, str], dict[str, Any]] | None:
        found = statuses(ecr, name, digest)
        done = [s for s in found.values() if s["status"] != "IN_PROGRESS"]
        return found if len(found) >= expected and len(done) == len(found) else None

    return wait_for(f"replication of {name}@{digest}", probe)


def host(region: str, account: str = ACCOUNT) -> str:
    return f"{account}.dkr.ecr.{region}.{DOMAIN}"


def v2(server: DockyardProcess, ecr: Any, region: str, account: str = ACCOUNT) -> httpx.Client:
    """/v2 on a registry's ECR-shaped host name, logged in with a token for its region."""
    return httpx.Client(
        base_url=server.url,
        headers={"Host": host(region, account)},
        auth=("AWS", login_password(ecr)),
        timeout=30,
    )


def manifest_digest(client: httpx.Client, name: str, reference: str) -> str | None:
    r = client.get(f"/v2/{name}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    return r.headers["Docker-Content-Digest"] if r.status_code == 200 else None


def external_statuses(ecr: Any, name: str, digest: str) -> dict[str, dict[str, Any]]:
    """DescribeImageReplicationStatus's external destinations as {externalRegistry: entry}."""
    found = ecr.describe_image_replication_status(
        repositoryName=name, imageId={"imageDigest": digest}
    )["replicationStatuses"]
    return {s["externalRegistry"]: s for s in found if "externalRegistry" in s}


def external_settled(ecr: Any, name: str, digest: str, registry: str) -> dict[str, Any]:
    """The status at the external registry once it is no longer IN_PROGRESS."""

    def probe() -> dict[str, Any] | None:
        found = external_statuses(ecr, name, digest).get(registry)
        return found if found is not None and found["status"] != "IN_PROGRESS" else None

    return wait_for(f"replication of {name}@{digest} to {registry}", probe)
