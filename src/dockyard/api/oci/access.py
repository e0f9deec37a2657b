"""Which ECR action each ``/v2`` request needs, and the check made before its handler runs.

The routes declare their actions (``api/oci/routes.py``, ``oci_routes``) with ``requires``;
the decision is the Authorizer's, the same one the ECR API asks, so a policy means the same
on both doors: manifest and tag reads need ``ecr:BatchGetImage``, blob reads
``ecr:GetDownloadUrlForLayer``, blob existence checks ``ecr:BatchCheckLayerAvailability``,
uploads ``ecr:InitiateLayerUpload`` / ``UploadLayerPart`` / ``CompleteLayerUpload``, a
manifest PUT ``ecr:PutImage``, deletes ``ecr:BatchDeleteImage``.

The registry (account, region) a request is for is the authentication wrapper's choice
(``api/oci/auth.py``: the ECR-shaped host name, else the login token's, else the default).
Another account's repository of the same region is also named on ``/v2`` with that
account's id as the first path component (``/v2/111122223333/team/app/...``), so one host
can serve every registry. The id must be another account's; a repository of the request's
registry whose name starts with 12 digits keeps its name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from dockyard.domain.identity import Caller
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.services import Registry
from dockyard.services.authorization import RequestFacts, repository_target

Endpoint = Callable[[Request], Awaitable[Response]]

BATCH_GET_IMAGE = "ecr:BatchGetImage"
GET_DOWNLOAD_URL = "ecr:GetDownloadUrlForLayer"
CHECK_LAYER = "ecr:BatchCheckLayerAvailability"
INITIATE_UPLOAD = "ecr:InitiateLayerUpload"
UPLOAD_PART = "ecr:UploadLayerPart"
COMPLETE_UPLOAD = "ecr:CompleteLayerUpload"
PUT_IMAGE = "ecr:PutImage"
DELETE_IMAGE = "ecr:BatchDeleteImage"
DESCRIBE_REPOSITORIES = "ecr:DescribeRepositories"
SCAN_FINDINGS = "ecr:DescribeImageScanFindings"

_KEY = "repository_key"


def caller_of(request: Request) -> Caller | None:
    caller: Caller | None = request.scope.get("state", {}).get("caller")
    return caller


def registry_of(request: Request) -> Scope:
    """The registry the request is for (see ``api/oci/auth.py``); the default one when the
    authentication wrapper did not run."""
    chosen: Scope | None = request.scope.get("state", {}).get("registry")
    if chosen is not None:
        return chosen
    registry: Registry = request.app.state.registry
    return registry.scope_of(None)


def repository_key(request: Request, name: str | None = None) -> RepositoryKey:
    """The repository a path names (``name``, else the path's), in its owner's account."""
    registry: Registry = request.app.state.registry
    if name is None:
        cached: RepositoryKey | None = request.scope.get("state", {}).get(_KEY)
        if cached is not None:
            return cached
        name = str(request.path_params["name"])
    mine = registry_of(request)
    first, _, rest = name.partition("/")
    if (
        rest
        and len(first) == 12
        and first.isascii()
        and first.isdigit()
        and first != mine.account_id
    ):
        return registry.key(rest, first, mine.region)
    return registry.key(name, mine.account_id, mine.region)


def facts_of(request: Request) -> RequestFacts:
    client = request.scope.get("client")
    return RequestFacts(
        source_ip=client[0] if client else None,
        secure_transport=request.scope.get("scheme") == "https",
    )


def requires(actions: Mapping[str, str], endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind the check of ``actions`` (HTTP method -> ECR action) on the
    repository its path names."""

    async def guarded(request: Request) -> Response:
        key = repository_key(request)
        request.scope.setdefault("state", {})[_KEY] = key
        registry: Registry = request.app.state.registry
        target = repository_target(actions[request.method], key)
        await registry.authz.authorize(caller_of(request), target, facts_of(request))
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "guarded")
    return guarded


async def may(request: Request, action: str, key: RepositoryKey) -> bool:
    """Whether the caller may do ``action`` on ``key`` (for lists and mounts, which skip
    what is not allowed rather than fail)."""
    registry: Registry = request.app.state.registry
    target = repository_target(action, key)
    return await registry.authz.allows(caller_of(request), target, facts_of(request))
