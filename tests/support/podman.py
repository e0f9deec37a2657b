"""Podman with private storage and configuration, for tests that push and pull with it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.tools import Completed, require_tool, run


class Podman:
    """Runs podman with private storage and configuration under `state`."""

    def __init__(self, state: Path) -> None:
        self.binary = require_tool("podman")
        self.state = state
        root, runroot, tmpdir = state / "root", state / "run", state / "tmp"
        for d in (root, runroot, tmpdir):
            d.mkdir(parents=True)
        containers_conf = state / "containers.conf"
        containers_conf.write_text(
            '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
            f'events_logfile_path = "{state / "events.log"}"\n'
        )
        registries_conf = state / "registries.conf"
        registries_conf.write_text("unqualified-search-registries = []\n")
        storage_conf = state / "storage.conf"
        storage_conf.write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{runroot}"\ngraphroot = "{root}"\n'
        )
        self.policy = state / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.env = {
            "CONTAINERS_CONF": str(containers_conf),
            "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
            "CONTAINERS_STORAGE_CONF": str(storage_conf),
            "XDG_RUNTIME_DIR": str(runroot),
        }
        self.global_args: list[str | Path] = [
            "--root",
            root,
            "--runroot",
            runroot,
            "--tmpdir",
            tmpdir,
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ]

    def __call__(self, *args: str | Path, check: bool = True) -> Completed:
        return run([self.binary, *self.global_args, *args], env=self.env, check=check)
