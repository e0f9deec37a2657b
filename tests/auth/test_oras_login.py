"""oras-py with its default ("token") auth backend and ECR credentials.

That backend answers any 401 with the distribution token flow: it GETs the challenge's realm
with the Basic credentials and wants ``{"token": ...}`` back, even when the challenge says
``Basic``. Against a registry that answers only Basic it gives up with "Cannot respond to
request for authentication."; Dockyard serves a token at the realm (``GET /``), so the
default client works with the password from ``aws ecr get-login-password``, given in code
or read from a Docker config file the way ``docker login`` leaves it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import oras.auth
import oras.decorator
import oras.provider
import pytest

from tests.support.auth import SecretLedger, ecr_client, login_password
from tests.support.servers import DockyardProcess

pytestmark = [pytest.mark.clients, pytest.mark.timeout(120)]

MEDIA_TYPE = "application/vnd.dockyard.test.oras-login"


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """oras-py retries a failed request five times, sleeping up to 83 s; fail at once instead."""
    monkeypatch.setattr(oras.decorator, "time", SimpleNamespace(sleep=lambda _seconds: None))


def default_client(server: DockyardProcess) -> oras.provider.Registry:
    client = oras.provider.Registry(hostname=server.host, insecure=True)
    assert isinstance(client.auth, oras.auth.TokenAuth), "oras-py's default backend changed"
    return client


def push_and_pull(client: oras.provider.Registry, target: str, work: Path, seed: str) -> None:
    payload = hashlib.sha512(seed.encode()).digest() * 1000
    src = work / "src"
    src.mkdir(parents=True)
    (src / "payload.bin").write_bytes(payload)
    pushed = client.push(
        target=target,
        files=[f"{src / 'payload.bin'}:{MEDIA_TYPE}"],
        disable_path_validation=True,
        quiet=True,
    )
    assert pushed.status_code == 201, pushed.text
    files = client.pull(target=target, outdir=str(work / "out"))
    assert [Path(f).read_bytes() for f in files] == [payload]


def test_oras_default_backend_with_credentials(
    auth_server: DockyardProcess, ledger: SecretLedger, repo_name: str, tmp_path: Path
) -> None:
    password = ledger.add_password(login_password(auth_server.url))
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    target = f"{auth_server.host}/{repo_name}:v1"

    # Without credentials the push is refused, as before.
    with pytest.raises(ValueError, match="authentication"):
        push_and_pull(default_client(auth_server), target, tmp_path / "anonymous", repo_name)

    client = default_client(auth_server)
    client.auth.set_basic_auth("AWS", password)
    push_and_pull(client, target, tmp_path / "push", repo_name)
    # It ran the token flow: the bearer token is what it sent after the first 401.
    assert client.auth.token
    ledger.add(client.auth.token)


def test_oras_default_backend_with_docker_config(
    auth_server: DockyardProcess,
    ledger: SecretLedger,
    repo_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``aws ecr get-login-password | docker login ...`` leaves this file; oras-py reads it."""
    password = ledger.add_password(login_password(auth_server.url))
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    auth = base64.b64encode(f"AWS:{password}".encode()).decode()
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {auth_server.host: {"auth": auth}}})
    )
    monkeypatch.setenv("HOME", str(home))

    client = default_client(auth_server)
    push_and_pull(client, f"{auth_server.host}/{repo_name}:v1", tmp_path / "push", repo_name)
    assert client.auth.token
    ledger.add(client.auth.token)
