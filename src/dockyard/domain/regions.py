"""Region names and ECR's registry host names.

Every (account, region) is a registry of its own. ECR names each by a host,
``<account>.dkr.ecr.<region>.amazonaws.com``; a deployment given a registry domain
answers to ``<account>.dkr.ecr.<region>.<domain>`` in the same way, so that one wildcard
DNS name and certificate serve every registry.
"""

from __future__ import annotations

import re

from dockyard.domain.records import Scope

# us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, us-isob-east-1, eusc-de-east-1.
_REGION = re.compile(r"[a-z]{2,4}(-[a-z0-9]+)+-\d+")
_HOST = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>.+)")


def valid_region(name: str) -> bool:
    """Whether ``name`` is shaped like a region name (not whether one exists)."""
    return _REGION.fullmatch(name) is not None


def registry_host(scope: Scope, domain: str) -> str:
    """The host name of a registry under ``domain`` (which may end in ``:port``)."""
    return f"{scope.account_id}.dkr.ecr.{scope.region}.{domain}"


def scope_of_host(host: str, domain: str) -> Scope | None:
    """The registry ``host`` (a Host header, perhaps with a port) names under ``domain``;
    None when it is not of that form. Host names are case-insensitive; a port is ignored
    unless the domain names one. The region is not checked against those served here."""
    if not domain:
        return None
    host, domain = host.strip().lower().rstrip("."), domain.lower().rstrip(".")
    if ":" not in domain:
        host = _without_port(host)
    match = _HOST.fullmatch(host)
    if match is None or match["domain"] != domain:
        return None
    return Scope(match["account"], match["region"])


def _without_port(host: str) -> str:
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host
