"""Where a remote registry's API lives and what it calls a repository.

Docker Hub is the one registry whose names differ from what users type: ``docker.io`` (and
``index.docker.io``) is served at ``registry-1.docker.io``, and a single-name repository
such as ``alpine`` is ``library/alpine`` there.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DOCKER_HUB_API", "RemoteRepository", "registry_base_url", "resolve_repository"]

DOCKER_HUB_API = "https://registry-1.docker.io"
_DOCKER_HUB_HOSTS = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


@dataclass(frozen=True, slots=True)
class RemoteRepository:
    base_url: str  # scheme://host[:port], no trailing slash: where /v2/ is
    repository: str  # the name the registry's API knows


def registry_base_url(registry: str) -> str:
    """``scheme://host[:port]`` of a registry given as a host or URL (https unless the URL
    says http); Docker Hub's names become its API host."""
    text = registry.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "https", text
    host = rest.split("/", 1)[0]
    if host.lower() in _DOCKER_HUB_HOSTS:
        return DOCKER_HUB_API
    return f"{scheme.lower()}://{host}"


def resolve_repository(registry: str, repository: str) -> RemoteRepository:
    """The API base URL and repository name for ``repository`` on ``registry``."""
    base = registry_base_url(registry)
    name = repository.strip("/")
    if base == DOCKER_HUB_API and "/" not in name:
        name = f"library/{name}"
    return RemoteRepository(base, name)
