"""Run external client tools (skopeo, umoci, podman) with readable failures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_TIMEOUT = 120


@dataclass(frozen=True)
class Completed:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class ToolError(AssertionError):
    pass


def require_tool(name: str) -> str:
    """Path of `name`; fails the test (not skip) when missing: the suite expects it installed."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/install-test-deps.sh", pytrace=False)
    return path


def run(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> Completed:
    """Run a command; on failure raise with the command line, exit code, stdout and stderr."""
    argv = [str(a) for a in args]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        argv,
        env=full_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ToolError(
            f"command failed with exit code {proc.returncode}: {' '.join(argv)}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return result


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


# --- skopeo -----------------------------------------------------------------------------------
def skopeo(*args: str | Path, check: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Completed:
    """`skopeo --insecure-policy ARGS` (the registries under test speak plain HTTP)."""
    return run([require_tool("skopeo"), "--insecure-policy", *args], check=check, timeout=timeout)


def skopeo_raw_manifest(ref: str, *, tls_verify: bool = False) -> bytes:
    """Exact manifest bytes from `skopeo inspect --raw REF`."""
    argv = [require_tool("skopeo"), "--insecure-policy", "inspect", "--raw"]
    if ref.startswith("docker://"):
        argv.append(f"--tls-verify={str(tls_verify).lower()}")
    argv.append(ref)
    proc = subprocess.run(argv, capture_output=True, timeout=DEFAULT_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise ToolError(
            f"command failed with exit code {proc.returncode}: {' '.join(argv)}\n"
            f"{proc.stderr.decode(errors='replace')[-4000:]}"
        )
    return proc.stdout


# --- umoci ------------------------------------------------------------------------------------
def umoci_build_layout(layout: Path, tag: str, layers: int, seed: str, scratch: Path) -> Path:
    """Build an image with `layers` layers in a new OCI layout using umoci.

    `umoci init` + `umoci new` + `umoci config`, then one `umoci insert` per layer (each
    inserting a directory of seed-derived files), then `umoci gc`.
    """
    umoci = require_tool("umoci")
    image = f"{layout}:{tag}"
    run([umoci, "init", "--layout", layout])
    run([umoci, "new", "--image", image])
    run(
        [
            umoci,
            "config",
            "--image",
            image,
            "--os",
            "linux",
            "--architecture",
            "amd64",
            "--config.cmd",
            "/bin/sh",
            "--config.label",
            f"org.dockyard.test.seed={seed}",
        ]
    )
    for i in range(layers):
        src = scratch / f"layer-{i}"
        src.mkdir(parents=True)
        for j in range(3):
            data = hashlib.sha256(f"{seed}/{i}/{j}".encode()).digest() * (64 * (j + 1))
            (src / f"file-{j}.bin").write_bytes(data)
        (src / "README.txt").write_text(f"layer {i} of {seed}\n")
        run([umoci, "insert", "--image", image, src, f"/opt/layer-{i}"])
    run([umoci, "gc", "--layout", layout])
    return layout


def layout_index(layout: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((layout / "index.json").read_text())
    return data
