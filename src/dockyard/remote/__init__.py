"""Other registries, over the OCI distribution API: a client and an image-copy engine.

The piece under replication to external registries and the pull-through cache. Only the
services use it; it knows nothing of Dockyard's storage, metadata or adapters.

* ``RegistryClient``: one remote registry (``client.py``; pushes in ``uploads.py``),
  authenticating as its challenge asks (``auth.py``), failing with ``errors.py``'s types.
* ``resolve_repository``: where a registry's API lives and its name for a repository
  (Docker Hub's ``library/`` and ``registry-1.docker.io``).
* ``copy_image`` between an ``ImageSource`` and an ``ImageSink`` (``copy.py``);
  ``RemoteSource`` / ``RemoteSink`` are those protocols over a client.

For example, copying ``alpine:3`` from Docker Hub into another registry::

    hub = resolve_repository("docker.io", "alpine")  # registry-1.docker.io, library/alpine
    async with (
        RegistryClient(hub.base_url) as upstream,
        RegistryClient("https://registry.example.com", Credentials("user", secret)) as target,
    ):
        result = await copy_image(
            RemoteSource(upstream, hub.repository), RemoteSink(target, "mirror/alpine"), "3"
        )

Errors to expect are in ``errors.py``: ``RemoteUnavailable`` (unreachable, timeout, 429,
5xx) is worth a retry later or a cached copy; the rest will not change by waiting.
"""

import importlib
from typing import TYPE_CHECKING, Any

from dockyard.remote.content import FetchedManifest
from dockyard.remote.copy import CopyResult, ImageSink, ImageSource, copy_image
from dockyard.remote.errors import *  # noqa: F403  (the hierarchy is the package's API)
from dockyard.remote.errors import __all__ as _errors
from dockyard.remote.names import RemoteRepository, registry_base_url, resolve_repository
from dockyard.remote.options import ClientOptions, Credentials

if TYPE_CHECKING:
    from dockyard.remote.client import (
        ManifestHead,
        PushedManifest,
        RegistryClient,
        fallback_tag,
    )
    from dockyard.remote.endpoints import RecordingSink, RemoteSink, RemoteSource, delete_replica

# The client and its endpoints load httpx: imported on first use, so a process that never
# talks to another registry (most workers, most of the time) does not hold it.
_LAZY = {
    "ManifestHead": "client",
    "PushedManifest": "client",
    "RegistryClient": "client",
    "fallback_tag": "client",
    "RecordingSink": "endpoints",
    "RemoteSink": "endpoints",
    "RemoteSource": "endpoints",
    "delete_replica": "endpoints",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ClientOptions",
    "CopyResult",
    "Credentials",
    "FetchedManifest",
    "ImageSink",
    "ImageSource",
    "ManifestHead",
    "PushedManifest",
    "RecordingSink",
    "RegistryClient",
    "RemoteRepository",
    "RemoteSink",
    "RemoteSource",
    "copy_image",
    "delete_replica",
    "fallback_tag",
    "registry_base_url",
    "resolve_repository",
    *_errors,
]
