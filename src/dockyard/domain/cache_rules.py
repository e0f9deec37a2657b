"""Pull-through cache rules: which repositories of a registry mirror which upstream registry.

A rule is named by its ``ecrRepositoryPrefix``, a repository-name prefix at a path boundary
as a creation template's is (ECR assumes the trailing ``/``: ``hub`` covers ``hub/library/
alpine``). Its upstream is one of the kinds ECR knows (botocore's ``UpstreamRegistry``
values), each at the host ECR documents for it, or -- Dockyard's addition -- any registry
that speaks the OCI distribution API, named by an ``http://`` or ``https://`` URL with
``upstreamRegistry`` left out: the generic kind. Botocore's enum has no value for it, so a
generic rule carries no ``upstreamRegistry`` on the wire.

Which kinds need credentials is ECR's rule (user guide, "Sync an upstream registry"): Docker
Hub, GitHub, GitLab, Azure and Chainguard need a Secrets Manager secret; ECR Public, Quay
and the Kubernetes registry do not (a secret is still accepted, for higher rate limits); an
ECR upstream is reached through an IAM role. A generic upstream takes a secret when it wants
one. The secret holds ``{"username": ..., "accessToken": ...}`` (``parse_credentials``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from dockyard.domain.errors import InvalidRequest, UpstreamUnsupported
from dockyard.domain.names import RepositoryName
from dockyard.domain.secrets import credential_pair
from dockyard.domain.templates import ROOT, applies_to, normalize_prefix

__all__ = [
    "CREDENTIALS_REQUIRED",
    "MAX_RULES",
    "MAX_URL_LENGTH",
    "ROOT",
    "ROOT_KINDS",
    "SECRET_PREFIX",
    "CacheRule",
    "Upstream",
    "UpstreamCredentials",
    "UpstreamKind",
    "normalize_prefix",
    "parse_credentials",
    "resolve_upstream",
    "rule_for",
]

#: ECR's default quota of pull-through cache rules per registry (ECR service quotas).
MAX_RULES = 50
#: Botocore's ``Url`` shape has no limit; Dockyard's column does.
MAX_URL_LENGTH = 2048
#: The name every credentials secret of a rule starts with (ECR's rule, and the
#: ``credentialArn`` pattern of botocore's model).
SECRET_PREFIX = "ecr-pullthroughcache/"


class UpstreamKind(StrEnum):
    """Botocore's ``UpstreamRegistry`` values, and Dockyard's generic kind."""

    ECR = "ecr"
    ECR_PUBLIC = "ecr-public"
    QUAY = "quay"
    K8S = "k8s"
    DOCKER_HUB = "docker-hub"
    GITHUB = "github-container-registry"
    AZURE = "azure-container-registry"
    GITLAB = "gitlab-container-registry"
    CHAINGUARD = "chainguard"
    #: Any OCI registry by URL; never sent as ``upstreamRegistry``.
    GENERIC = "generic"

    @property
    def wire(self) -> str | None:
        """The ``upstreamRegistry`` value of the kind; None for the generic kind."""
        return None if self is UpstreamKind.GENERIC else self.value


#: The one host of each kind that has one (the URLs ECR's API reference gives).
_HOSTS: dict[UpstreamKind, str] = {
    UpstreamKind.ECR_PUBLIC: "public.ecr.aws",
    UpstreamKind.QUAY: "quay.io",
    UpstreamKind.K8S: "registry.k8s.io",
    UpstreamKind.DOCKER_HUB: "registry-1.docker.io",
    UpstreamKind.GITHUB: "ghcr.io",
    UpstreamKind.GITLAB: "registry.gitlab.com",
    UpstreamKind.CHAINGUARD: "cgr.dev",
}
# <account>.dkr.ecr.<region>.amazonaws.com, and an Azure registry's <name>.azurecr.io (a
# registry name is 5 to 50 letters and digits).
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_AZURE_HOST = re.compile(r"^[a-z0-9]{5,50}\.azurecr\.io$")

CREDENTIALS_REQUIRED = frozenset(
    {
        UpstreamKind.DOCKER_HUB,
        UpstreamKind.GITHUB,
        UpstreamKind.AZURE,
        UpstreamKind.GITLAB,
        UpstreamKind.CHAINGUARD,
    }
)
#: Kinds a ROOT rule may mirror: ECR's own ECR-to-ECR case, and any registry by URL.
ROOT_KINDS = frozenset({UpstreamKind.ECR, UpstreamKind.GENERIC})


@dataclass(frozen=True, slots=True)
class Upstream:
    kind: UpstreamKind
    #: The ``upstreamRegistryUrl`` as stored and reported: a host for ECR's kinds, an
    #: ``http(s)://host[:port]`` URL for the generic kind.
    url: str

    @property
    def base_url(self) -> str:
        """Where its ``/v2/`` API is: ECR's kinds over https."""
        return self.url if self.kind is UpstreamKind.GENERIC else f"https://{self.host}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc if "://" in self.url else self.url

    @property
    def ecr_account(self) -> str | None:
        """The account of an ECR upstream; None for any other kind."""
        found = _ECR_HOST.match(self.host) if self.kind is UpstreamKind.ECR else None
        return found.group(1) if found else None


def _kind_of_host(host: str) -> UpstreamKind | None:
    for kind, known in _HOSTS.items():
        if host == known:
            return kind
    if _ECR_HOST.match(host):
        return UpstreamKind.ECR
    if _AZURE_HOST.match(host):
        return UpstreamKind.AZURE
    return None


def _expected_host(kind: UpstreamKind) -> str:
    if kind is UpstreamKind.ECR:
        return "<account>.dkr.ecr.<region>.amazonaws.com"
    if kind is UpstreamKind.AZURE:
        return "<name>.azurecr.io"
    return _HOSTS[kind]


def resolve_upstream(url: str, registry: str | None) -> Upstream:
    """The upstream of ``upstreamRegistryUrl`` and ``upstreamRegistry`` (None: absent).

    With a kind, the URL must be that kind's host (bare, as ECR documents it, or after
    ``https://``). Without one, a bare host is the kind whose host it is, and an ``http://``
    or ``https://`` URL is the generic kind; anything else is unsupported.
    """
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(
            f"upstreamRegistryUrl must have 1 to {MAX_URL_LENGTH} characters, not {len(url)}"
        )
    if registry is not None:
        kind = UpstreamKind(registry)
        host = url.removeprefix("https://").rstrip("/")
        if _kind_of_host(host) is not kind:
            raise InvalidRequest(
                f"upstreamRegistryUrl '{url[:256]}' is not a {kind.value} registry: "
                f"expected {_expected_host(kind)}"
            )
        return Upstream(kind, host)
    if "://" not in url:
        found = _kind_of_host(url.rstrip("/"))
        if found is None:
            raise UpstreamUnsupported(
                url,
                "name its kind with upstreamRegistry, or give any other OCI registry as an "
                "http:// or https:// URL",
            )
        return Upstream(found, url.rstrip("/"))
    return Upstream(UpstreamKind.GENERIC, _generic_url(url))


def _generic_url(url: str) -> str:
    """``scheme://host[:port]`` of a generic upstream, or why the URL cannot be one."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is no number raises here
    except ValueError:
        raise UpstreamUnsupported(url, "not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise UpstreamUnsupported(url, "the URL of a registry starts with http:// or https://")
    if not parts.hostname:
        raise UpstreamUnsupported(url, "the URL names no host")
    if parts.username is not None or parts.password is not None:
        # Stored and reported in the clear: credentials belong in a secret (credentialArn).
        raise InvalidRequest(
            "upstreamRegistryUrl must not carry credentials: store them in a Secrets Manager "
            f"secret named {SECRET_PREFIX}... and give its ARN as credentialArn"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UpstreamUnsupported(
            url, "a registry's API is at /v2/ of its host: give scheme://host[:port] only"
        )
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # an IPv6 literal keeps its brackets
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    return f"{parts.scheme}://{netloc}"


@dataclass(frozen=True, slots=True)
class CacheRule:
    prefix: str  # normalized: no trailing /
    upstream: Upstream
    upstream_prefix: str | None
    credential_arn: str | None
    custom_role_arn: str | None
    created_at: datetime
    updated_at: datetime


def rule_for(rules: Iterable[CacheRule], name: RepositoryName) -> CacheRule | None:
    """The rule a repository ``name`` is cached under: the longest prefix that covers it,
    ``ROOT`` only when none does."""
    named = [r for r in rules if r.prefix != ROOT and applies_to(r.prefix, name)]
    if named:
        return max(named, key=lambda r: len(r.prefix))
    return next((r for r in rules if r.prefix == ROOT), None)


@dataclass(frozen=True, slots=True)
class UpstreamCredentials:
    username: str
    access_token: str = field(repr=False)


def parse_credentials(text: str) -> UpstreamCredentials:
    """The credentials an ``ecr-pullthroughcache/`` secret holds; ``ValueError`` saying what
    is wrong otherwise."""
    return UpstreamCredentials(*credential_pair(text, ("accessToken",)))
