"""A worker's memory is mostly what it imports, and issue 13 holds a node (supervisor and two
workers) to 200 MB. These libraries serve only some requests (another registry, the S3
backend, a scan), so opening the application must not load them: each costs 5-10 MiB per
worker, and one stray module-level import brings one back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# (module, what needs it)
ON_DEMAND = [
    ("httpx", "the remote-registry client: replication, pull-through cache, validation"),
    ("rich", "httpx's command line, loaded by httpx when installed"),
    ("botocore.session", "the S3 blob store"),
    ("debian.deb822", "reading dpkg status files during a scan"),
]

WORKER = """
import json, sys
from dockyard.config import load_settings
from dockyard.app import create_app, open_registry
from dockyard.cli.server import run_server  # what a worker imports
settings = load_settings({"data_dir": sys.argv[1]}, environ={})
create_app(settings, open_registry(settings, upgrade=True))
print(json.dumps(sorted(sys.modules)))
"""


def test_opening_the_application_loads_no_on_demand_library(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "dockyard.app" in loaded and "uvicorn" in loaded  # the probe imported a worker
    found = [f"{module} ({why})" for module, why in ON_DEMAND if module in loaded]
    assert not found, f"imported at start: {found}"


def test_the_on_demand_libraries_still_load_where_needed(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from dockyard.remote import RegistryClient\n"
        "from dockyard.storage.factory import open_blob_store\n"
        "import dockyard.storage.s3\n"
        "print('httpx' in sys.modules, 'botocore.session' in sys.modules, RegistryClient.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.split() == ["True", "True", "RegistryClient"]
