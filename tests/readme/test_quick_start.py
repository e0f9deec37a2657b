"""The README's quick start, run with bash as written, against the server it starts itself.

The block between ``<!-- quick-start`` and ``<!-- /quick-start -->`` is read from README.md.
What changes for the test: ``pip install .`` is left out (the tests run from an
installed checkout), ``dockyard`` runs with the tests' interpreter, the port is a free one,
and the working directory, ``HOME`` and the container auth file are in a temporary
directory that holds the image layout ``./layout:v1``. Each command's output is checked, and
afterwards boto3, given only the environment the block exports, reaches the same server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import make_image, resolve_layout_tag, write_oci_layout
from tests.support.servers import free_port
from tests.support.tools import require_tool

pytestmark = [pytest.mark.clients, pytest.mark.timeout(180)]

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- quick-start\b.*?-->\s*```sh\n(.*?)```\s*<!-- /quick-start -->", re.S)
STEP = "::quick-start step {}::"
README_PORT = "5000"

# After the block, in the same shell: boto3 with nothing but the environment it exported.
BOTO3_CHECK = (
    f"{shlex.quote(sys.executable)} -c 'import boto3; "
    'print(*[r["repositoryName"] for r in boto3.client("ecr").describe_repositories()'
    '["repositories"]])\''
)


def quick_start_commands() -> list[str]:
    found = BLOCK.search(README.read_text())
    assert found, "README.md has no <!-- quick-start --> block"
    text = found.group(1).replace("\\\n", " ")  # join continued lines
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def script(commands: list[str], port: int) -> str:
    lines = [
        "set -euo pipefail",
        # The block starts the server in the background; stop it however the script ends.
        "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT",
    ]
    for number, command in enumerate([*commands, BOTO3_CHECK]):
        lines.append(f"echo {shlex.quote(STEP.format(number))}")
        lines.append(command.replace(README_PORT, str(port)))
    return "\n".join(lines) + "\n"


def environment(work: Path, bin_dir: Path) -> dict[str, str]:
    """The caller's environment without AWS or Dockyard settings, and a private home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "DOCKYARD_")) and k != "REGISTRY_AUTH_FILE"
    }
    (work / "home").mkdir()
    (work / "run").mkdir(mode=0o700)
    env.update(
        HOME=str(work / "home"),
        XDG_RUNTIME_DIR=str(work / "run"),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def dockyard_on_path(bin_dir: Path) -> None:
    """``dockyard`` as the README runs it: the package installed for this interpreter."""
    bin_dir.mkdir()
    shim = bin_dir / "dockyard"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dockyard "$@"\n')
    shim.chmod(0o755)


def run_block(work: Path, commands: list[str], port: int) -> subprocess.CompletedProcess[str]:
    env = environment(work, work / "bin")
    proc = subprocess.Popen(
        ["bash", "-c", script(commands, port)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a hung run can be stopped whole
    )
    try:
        stdout, stderr = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate()
        pytest.fail(f"the quick start hung; stdout:\n{stdout}\nstderr:\n{stderr}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def outputs(stdout: str, count: int) -> list[str]:
    """Each step's stdout, in order (the markers the script echoes split them)."""
    parts = re.split(r"^::quick-start step (\d+)::$\n?", stdout, flags=re.M)
    steps = {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}
    assert sorted(steps) == list(range(count)), stdout
    return [steps[i] for i in range(count)]


def test_readme_quick_start(tmp_path: Path) -> None:
    for tool in ("aws", "skopeo", "curl"):
        require_tool(tool)
    commands = quick_start_commands()
    assert commands[0] == "pip install ."
    commands = commands[1:]
    block = "\n".join(commands)
    assert "--endpoint-url" not in block, "the quick start must not need per-command flags"
    assert "AWS_ENDPOINT_URL" in block
    assert f"--port {README_PORT}" in block and f"127.0.0.1:{README_PORT}" in block

    work = tmp_path / "work"
    work.mkdir()
    dockyard_on_path(work / "bin")
    image = make_image("readme-quick-start", layers=2)
    write_oci_layout(work / "layout", {"v1": image})
    port = free_port()

    done = run_block(work, commands, port)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = dict(zip([*commands, "boto3"], outputs(done.stdout, len(commands) + 1), strict=True))

    def step(prefix: str) -> str:
        (command,) = [c for c in out if c.startswith(prefix)]
        return out[command]

    repository = json.loads(step("aws ecr create-repository"))["repository"]
    assert repository["repositoryName"] == "team/app"
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["repositoryUri"] == f"127.0.0.1:{port}/team/app"
    assert "Login Succeeded" in step("aws ecr get-login-password")
    (detail,) = json.loads(step("aws ecr describe-images"))["imageDetails"]
    assert detail["imageTags"] == ["v1"]
    assert detail["imageDigest"] == image.digest

    # The pulled copy is the pushed image, byte for byte.
    copy = resolve_layout_tag(work / "copy", "v1")
    assert copy.descriptor["digest"] == image.digest
    assert copy.manifest_bytes == image.manifest.data
    for blob in image.blobs:
        algorithm, hex_digest = blob.digest.split(":")
        assert (work / "copy" / "blobs" / algorithm / hex_digest).read_bytes() == blob.data

    assert out["boto3"].split() == ["team/app"]

    # The credentials file the block points the aws CLI at is private to its owner.
    assert not (work / "dockyard-data" / "root-credentials").stat().st_mode & 0o077
    # And the server the block started stopped with it.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the quick start left its server up"
