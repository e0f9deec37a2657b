"""External registries: replication destinations outside the deployment (a Dockyard
extension; ECR replicates only to ECR).

A registry (account, region) registers another registry that speaks the OCI distribution
API under a name of its own, with the URL of its ``/v2/`` and how to log in to it: no
credentials, a username and password (sealed with the node's secrets key, as access-key
secrets are), or a Secrets Manager secret of the same account and region holding
``{"username": ..., "password": ...}``. A replication rule names it as a destination by
that name. ``insecure`` is the operator's explicit word for what TLS cannot vouch for: an
``http://`` URL (credentials and content in the clear) needs it, and with an
``https://`` URL it skips the certificate check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from dockyard.domain.errors import InvalidRequest
from dockyard.domain.secrets import credential_pair

#: External registries one registry may hold (Dockyard's choice, as ECR's 25 unique
#: replication destinations bound how many a configuration can use).
MAX_EXTERNAL_REGISTRIES = 25
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class ExternalRegistry:
    """A registered external registry, as described (never with its password)."""

    name: str
    url: str  # scheme://host[:port], where /v2/ is
    insecure: bool
    username: str | None
    has_password: bool
    credential_arn: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@dataclass(frozen=True, slots=True)
class ExternalCredentials:
    username: str
    password: str = field(repr=False)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidRequest(
            f"Invalid parameter at 'name': '{name[:80]}' is not 1 to 64 of lower-case "
            "letters, digits, '.', '_' and '-', starting with a letter or a digit"
        )
    return name


def normalize_url(text: str, insecure: bool) -> str:
    """``scheme://host[:port]`` of a registry given as such a URL or a bare host (https);
    InvalidRequest for anything else (a path, a query, credentials in the URL, plain
    http without ``insecure``)."""
    given = text.strip().rstrip("/")
    if "://" not in given:
        given = f"https://{given}"
    parts = urlsplit(given)
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "the scheme must be https (or http)"
    elif "@" in parts.netloc:
        problem = "credentials do not belong in the URL: give username and password"
    elif not _HOST.match(parts.netloc):
        problem = "it names no host[:port]"
    elif parts.path or parts.query or parts.fragment:
        problem = "it must be the registry's scheme://host[:port], without a path or query"
    elif parts.scheme == "http" and not insecure:
        problem = "a plain http URL sends credentials and images in the clear: set insecure"
    if problem is not None:
        shown = text[:200].split("@")[-1]  # never echo credentials given in a URL
        raise InvalidRequest(f"Invalid parameter at 'url' ('{shown}'): {problem}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def check_credentials(
    username: str | None, password: str | None, credential_arn: str | None
) -> None:
    if (username is None) != (password is None):
        raise InvalidRequest("Give both username and password, or neither")
    if credential_arn is not None and username is not None:
        raise InvalidRequest("Give username and password, or credentialArn, not both")
    if username is not None and (not username or ":" in username):
        raise InvalidRequest("A username is not empty and has no ':'")


def parse_secret_credentials(text: str) -> ExternalCredentials:
    """The credentials a secret holds: ``username`` and ``password`` (or ``accessToken``,
    as pull-through cache secrets name it); ValueError saying what is wrong otherwise."""
    return ExternalCredentials(*credential_pair(text, ("password", "accessToken")))
