"""Every error the registry raises on purpose has an answer on both doors that is not a 500:
a specific status and OCI code on ``/v2`` (and the ``/_dockyard`` routes beside it), a
specific ``__type`` on ``POST /``. A new error class without a mapping fails here."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
import pytest

import dockyard
from dockyard.api.ecr import errors as ecr_errors
from dockyard.api.oci import errors as oci_errors
from dockyard.domain.errors import DockyardError, UpstreamFailed, UpstreamUnavailable

# Never imported for the walk: the command-line entry point runs on import, and Alembic's
# migration scripts are loaded by Alembic alone.
_SKIPPED_MODULES = ("dockyard.__main__", "dockyard.metadata.migrations")


def _error_classes() -> list[type[DockyardError]]:
    for module in pkgutil.walk_packages(dockyard.__path__, "dockyard."):
        if not module.name.startswith(_SKIPPED_MODULES):
            importlib.import_module(module.name)
    found: list[type[DockyardError]] = []
    pending = [DockyardError]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("dockyard."):
                found.append(sub)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


ERRORS = _error_classes()


def _name(cls: type[DockyardError]) -> str:
    return f"{cls.__module__.removeprefix('dockyard.')}.{cls.__qualname__}"


# The adapters whose own errors stay inside them.
_ADAPTERS = ("oci", "ecr", "secretsmanager", "iam", "sts")


def _reaches(cls: type[DockyardError], door: str) -> bool:
    """Whether ``cls`` can be raised while ``door`` answers a request. The command line
    answers no request, and each adapter's own errors stay inside it."""
    module = cls.__module__
    others = tuple(f"dockyard.api.{name}" for name in _ADAPTERS if name != door)
    return not module.startswith(("dockyard.cli", *others))


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    modules = {cls.__module__ for cls in ERRORS}
    assert {
        "dockyard.domain.errors",
        "dockyard.auth.sigv4",
        "dockyard.auth.tokens",
        "dockyard.services.identity",
        "dockyard.api.ecr.context",
    } <= modules
    assert len(ERRORS) > 40


# The pull-through cache's upstream failures are a gateway's, not the client's nor an
# internal error: 503 while the upstream is down (retry later), 502 when it answered wrongly.
_GATEWAY = {UpstreamUnavailable: (503, "UNAVAILABLE"), UpstreamFailed: (502, "UNKNOWN")}


@pytest.mark.parametrize("cls", [c for c in ERRORS if _reaches(c, "oci")], ids=_name)
def test_every_error_has_a_v2_answer(cls: type[DockyardError]) -> None:
    status, code = oci_errors.wire_error(cls)
    if cls in _GATEWAY:
        assert (status, code) == _GATEWAY[cls]
        return
    assert 400 <= status < 500, f"{cls.__name__} answers {status} on /v2"
    assert code != "UNKNOWN"


@pytest.mark.parametrize("cls", [c for c in ERRORS if _reaches(c, "ecr")], ids=_name)
def test_every_error_has_an_ecr_answer(cls: type[DockyardError]) -> None:
    kind, status = ecr_errors.wire_error(cls.__new__(cls), None)  # only its class matters
    assert kind != "ServerException", f"{cls.__name__} has no ECR __type"
    assert 400 <= status < 500


@pytest.mark.parametrize("reference", ["nope", "sha256:" + "0" * 64])
def test_sbom_of_an_unknown_image_is_404(v2: httpx.Client, repo: str, reference: str) -> None:
    r = v2.get(f"/_dockyard/repositories/{repo}/images/{reference}/sbom")
    assert r.status_code == 404, r.text
    assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_sbom_of_an_unknown_repository_is_404(v2: httpx.Client) -> None:
    r = v2.get("/_dockyard/repositories/hardening/never-made/images/v1/sbom")
    assert r.status_code == 404, r.text
    assert r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
