"""The documented ECR login flow, with real clients.

``aws ecr get-login-password | skopeo login --username AWS --password-stdin HOST`` (and the
same with podman), a repository made with ``aws ecr create-repository``, then push and
pull through the stored credentials.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.auth import SecretLedger, aws_cli_env, ecr_client
from tests.support.images import make_image, resolve_layout_tag, write_oci_layout
from tests.support.podman import Podman
from tests.support.servers import DockyardProcess
from tests.support.tools import require_tool, run

pytestmark = [pytest.mark.clients, pytest.mark.timeout(180)]


def aws(server: DockyardProcess, *args: str) -> str:
    return run([require_tool("aws"), "--endpoint-url", server.url, *args], env=aws_cli_env()).stdout


def piped_login(server: DockyardProcess, login: list[str]) -> subprocess.CompletedProcess[str]:
    """``aws ecr get-login-password | LOGIN...`` in a shell, as the ECR docs show it."""
    command = (
        f"set -o pipefail; {shlex.quote(require_tool('aws'))} --endpoint-url "
        f"{shlex.quote(server.url)} ecr get-login-password | {shlex.join(login)}"
    )
    env = {**os.environ, **aws_cli_env()}
    return subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def stored_password(authfile: Path, host: str) -> str:
    """The password a client saved for `host` (checking the user is AWS)."""
    auths = json.loads(authfile.read_text())["auths"]
    user, _, password = base64.b64decode(auths[host]["auth"]).decode().partition(":")
    assert user == "AWS"
    return password


def create_repository(server: DockyardProcess, name: str) -> None:
    created = json.loads(aws(server, "ecr", "create-repository", "--repository-name", name))
    repo = created["repository"]
    assert repo["repositoryName"] == name
    assert repo["repositoryUri"] == f"{server.host}/{name}"


def described_digests(server: DockyardProcess, name: str) -> dict[str, list[str]]:
    listed = json.loads(aws(server, "ecr", "describe-images", "--repository-name", name))
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in listed["imageDetails"]}


def test_skopeo_login_push_pull(
    auth_server: DockyardProcess, ledger: SecretLedger, repo_name: str, tmp_path: Path
) -> None:
    skopeo = require_tool("skopeo")
    host = auth_server.host
    authfile = tmp_path / "auth.json"
    image = make_image(f"login-skopeo/{repo_name}", layers=2)
    layout = write_oci_layout(tmp_path / "src", {"src": image})
    remote = f"docker://{host}/{repo_name}:v1"

    # Without logging in, the push is refused.
    refused = run(
        [
            skopeo,
            "--insecure-policy",
            "copy",
            "--authfile",
            tmp_path / "none.json",
            "--dest-tls-verify=false",
            f"oci:{layout}:src",
            remote,
        ],
        check=False,
    )
    assert refused.returncode != 0
    assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower(), refused.stderr

    login = piped_login(
        auth_server,
        [
            skopeo,
            "login",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            "--username",
            "AWS",
            "--password-stdin",
            host,
        ],
    )
    assert login.returncode == 0, login.stderr
    assert "Login Succeeded" in login.stdout
    password = ledger.add_password(stored_password(authfile, host))
    assert password not in login.stdout + login.stderr

    create_repository(auth_server, repo_name)
    run(
        [
            skopeo,
            "--insecure-policy",
            "copy",
            "--authfile",
            authfile,
            "--dest-tls-verify=false",
            f"oci:{layout}:src",
            remote,
        ]
    )
    assert described_digests(auth_server, repo_name) == {image.digest: ["v1"]}

    pulled = tmp_path / "pulled"
    run(
        [
            skopeo,
            "--insecure-policy",
            "copy",
            "--authfile",
            authfile,
            "--src-tls-verify=false",
            remote,
            f"oci:{pulled}:v1",
        ]
    )
    back = resolve_layout_tag(pulled, "v1")
    assert back.digest == image.digest
    assert back.manifest_bytes == image.manifest.data

    # A logout forgets the password, and the registry refuses again.
    run([skopeo, "logout", "--authfile", authfile, host])
    again = run(
        [
            skopeo,
            "--insecure-policy",
            "inspect",
            "--authfile",
            authfile,
            "--tls-verify=false",
            remote,
        ],
        check=False,
    )
    assert again.returncode != 0


@pytest.fixture
def podman_state() -> Iterator[Path]:
    # Short path directly under the temp dir: podman refuses a --runroot over 50 characters.
    state = Path(tempfile.mkdtemp(prefix="dy-auth-podman-"))
    try:
        yield state
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_podman_login_push_pull(
    auth_server: DockyardProcess,
    ledger: SecretLedger,
    repo_name: str,
    tmp_path: Path,
    podman_state: Path,
) -> None:
    podman = Podman(podman_state)
    host = auth_server.host
    authfile = tmp_path / "auth.json"
    image = make_image(f"login-podman/{repo_name}", layers=2)
    layout = write_oci_layout(tmp_path / "src", {"src": image})
    image_id = image.config.hex
    remote = f"{host}/{repo_name}:v1"
    policy = str(podman.policy)

    login = piped_login(
        auth_server,
        [
            podman.binary,
            *map(str, podman.global_args),
            "login",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            "--username",
            "AWS",
            "--password-stdin",
            host,
        ],
    )
    assert login.returncode == 0, login.stderr
    assert "Login Succeeded" in login.stdout
    ledger.add_password(stored_password(authfile, host))

    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    loaded = podman("pull", "--signature-policy", policy, f"oci:{layout}:src")
    assert loaded.stdout.split()[-1] == image_id
    podman("tag", image_id, remote)
    digest_file = tmp_path / "digest"
    podman(
        "push",
        "--tls-verify=false",
        "--authfile",
        authfile,
        "--signature-policy",
        policy,
        "--digestfile",
        digest_file,
        remote,
    )
    pushed = digest_file.read_text().strip()
    assert described_digests(auth_server, repo_name) == {pushed: ["v1"]}

    podman("rmi", "--force", image_id)
    pulled = podman(
        "pull", "--tls-verify=false", "--authfile", authfile, "--signature-policy", policy, remote
    )
    assert pulled.stdout.split()[-1] == image_id
    info = json.loads(podman("image", "inspect", remote).stdout)[0]
    assert info["Digest"] == pushed
    assert info["RootFS"]["Layers"] == [layer.diff_id for layer in image.layers]

    # Without the authfile, podman gets the registry's 401.
    podman("rmi", "--force", image_id)
    empty = tmp_path / "empty-auth.json"
    empty.write_text('{"auths": {}}')
    refused = podman(
        "pull",
        "--tls-verify=false",
        "--authfile",
        empty,
        "--signature-policy",
        policy,
        remote,
        check=False,
    )
    assert refused.returncode != 0
    assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower(), refused.stderr
