"""Fixtures for image scanning through the real server, with real clients and real data.

* ``scan_server``: one Dockyard per session in its secure default mode, its vulnerability
  data (``tests/data/vulndb/*.zip``) imported with ``dockyard vulndb import`` before
  it starts. Its registry scanning configuration stays the default (BASIC, no rules): tests
  that change the registry-wide configuration start their own server (``own_server``).
* ``ecr`` (boto3), ``aws`` (the aws CLI), ``v2`` (``/v2`` with the GetAuthorizationToken
  password) on that server; ``repo_name`` / ``repo``.
* Images, built once per session from real packages (see ``helpers``):
  ``perl_image`` (Debian 12 with perl-base 5.36.0-7+deb12u3, zlib1g, libidn2-0),
  ``real_image`` (dpkg + Python + npm + a layer whose whiteouts delete urllib3),
  ``fixed_image`` (perl-base 5.36.0-7+deb12u4 and libpcre2-8-0 10.42-1),
  ``python_image`` (linux/arm64: os-release and the Python layer, urllib3 kept).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scan.helpers import (
    PERL_FIX,
    SITE,
    Pkg,
    deb_pkg,
    debian_tar,
    gz_blob,
    image_of,
    os_release_entries,
    pypi_pkg,
    wait_scan,
)
from tests.support.ecr import REGION, AwsCli, login_client, make_client
from tests.support.images import Image, push_image
from tests.support.osvdata import DEBIAN_ZIP, PYPI_ZIP
from tests.support.realdata import (
    DEBS,
    Entry,
    fetch_debs,
    npm_package_jsons,
    pip_target,
    tar_bytes,
    tree_entries,
)
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess


def vulndb_import(data_dir: Path, *sources: Path) -> str:
    """``python -m dockyard vulndb import SOURCES --data-dir DATA_DIR``; its output."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "dockyard", "vulndb", "import"),
            *map(str, sources),
            *("--data-dir", str(data_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"vulndb import failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


ALL_DATA = (PYPI_ZIP, DEBIAN_ZIP)


OwnServer = Callable[..., DockyardProcess]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnServer]:
    """Start a private server (``own_server(data_dir=None, vulndb=True, env=None)``); each one
    is stopped with SIGTERM at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(
            data_dir: Path | None = None, vulndb: bool = True, env: dict[str, str] | None = None
        ) -> DockyardProcess:
            if data_dir is None:
                data_dir = tmp_path / f"data-{uuid.uuid4().hex[:6]}"
            if vulndb:
                vulndb_import(data_dir, *ALL_DATA)
            proc = DockyardProcess(data_dir, open_access=False, log_dir=tmp_path / "logs", env=env)
            return stack.enter_context(proc.serving())

        yield start


@pytest.fixture(scope="session")
def scan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    data_dir = tmp_path_factory.mktemp("scan-data")
    vulndb_import(data_dir, *ALL_DATA)
    proc = DockyardProcess(data_dir, open_access=False, log_dir=tmp_path_factory.mktemp("scan-log"))
    with proc.serving():
        yield proc


@pytest.fixture(scope="session")
def ecr(scan_server: DockyardProcess) -> Any:
    return make_client(scan_server.url)


def aws_cli(endpoint: str, home: Path) -> AwsCli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )
    return AwsCli(endpoint, env)


@pytest.fixture(scope="session")
def aws(scan_server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return aws_cli(scan_server.url, tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="session")
def v2(ecr: Any, scan_server: DockyardProcess) -> Iterator[httpx.Client]:
    with login_client(ecr, scan_server.url) as client:
        yield client


@pytest.fixture
def repo_name() -> str:
    return f"scan-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def repo(ecr: Any, repo_name: str) -> str:
    ecr.create_repository(repositoryName=repo_name)
    return repo_name


# --- real packages and images -----------------------------------------------------------------


@pytest.fixture(scope="session")
def debs() -> dict[str, Path]:
    """The cached real ``.deb`` files of ``realdata.DEBS``."""
    return fetch_debs(DEBS)


@pytest.fixture(scope="session")
def fixed_perl_deb() -> Path:
    return fetch_debs({"perl-base": PERL_FIX})["perl-base"]


@pytest.fixture(scope="session")
def perl_layer(debs: dict[str, Path]) -> Any:
    return gz_blob(debian_tar([debs["perl-base"], debs["zlib1g"], debs["libidn2-0"]]))


@pytest.fixture(scope="session")
def perl_image(perl_layer: Any) -> Image:
    """Debian 12 with perl-base 5.36.0-7+deb12u3 (and zlib1g, libidn2-0: no data for them)."""
    return image_of([perl_layer])


@pytest.fixture(scope="session")
def perl_packages(debs: dict[str, Path]) -> list[Pkg]:
    return [deb_pkg(debs[n]) for n in ("perl-base", "zlib1g", "libidn2-0")]


@pytest.fixture(scope="session")
def python_layer() -> Any:
    return gz_blob(tar_bytes(tree_entries(pip_target(), SITE)))


NPM_DIR = "app/node_modules"


@pytest.fixture(scope="session")
def real_image(debs: dict[str, Path], python_layer: Any) -> Image:
    """0: Debian 12 (files and dpkg status of the real debs; openssl removed, config kept);
    1: requests 2.19.1, urllib3 1.24.1, Jinja2 2.10 (pip --target); 2: an app's node_modules
    with real package.json of lodash, minimist and a scoped package; 3: whiteouts deleting
    urllib3's dist-info and module."""
    installed = [debs[n] for n in DEBS if n != "openssl"]
    npm = npm_package_jsons()
    layers = [
        gz_blob(debian_tar(installed, removed=[debs["openssl"]])),
        python_layer,
        gz_blob(
            tar_bytes(
                [
                    Entry.dir("app"),
                    Entry("app/package.json", b'{"name": "the-app", "version": "0.1.0"}\n'),
                    Entry.dir(NPM_DIR),
                    *(
                        Entry(f"{NPM_DIR}/{name}/package.json", data)
                        for name, data in sorted(npm.items())
                    ),
                ]
            )
        ),
        gz_blob(
            tar_bytes(
                [
                    Entry.whiteout(f"{SITE}/urllib3-1.24.1.dist-info"),
                    Entry.whiteout(f"{SITE}/urllib3"),
                ]
            )
        ),
    ]
    return image_of(layers)


@pytest.fixture(scope="session")
def real_packages(debs: dict[str, Path]) -> list[Pkg]:
    """What ``real_image`` holds after its layers are applied."""
    return [
        *(deb_pkg(debs[n]) for n in DEBS if n != "openssl"),
        pypi_pkg("requests", "2.19.1"),
        pypi_pkg("Jinja2", "2.10"),
        Pkg("npm", "lodash", "4.17.20"),
        Pkg("npm", "minimist", "1.2.5"),
        Pkg("npm", "@isaacs/string-locale-compare", "1.1.0"),
    ]


@pytest.fixture(scope="session")
def fixed_image(debs: dict[str, Path], fixed_perl_deb: Path) -> Image:
    """perl-base at the version that fixes the 13 CVEs, beside a still-vulnerable pcre2."""
    return image_of([gz_blob(debian_tar([fixed_perl_deb, debs["libpcre2-8-0"]]))])


@pytest.fixture(scope="session")
def python_image(python_layer: Any) -> Image:
    """linux/arm64: Debian's os-release and the Python layer, urllib3 still there."""
    return image_of([gz_blob(tar_bytes(os_release_entries())), python_layer], arch="arm64")


@pytest.fixture(scope="session")
def python_packages() -> list[Pkg]:
    return [
        pypi_pkg("requests", "2.19.1"),
        pypi_pkg("urllib3", "1.24.1"),
        pypi_pkg("Jinja2", "2.10"),
    ]


@dataclass(frozen=True)
class Scanned:
    repo: str
    tag: str
    digest: str
    result: dict[str, Any]  # DescribeImageScanFindings once the scan settled


@pytest.fixture(scope="session")
def scanned_real(ecr: Any, v2: httpx.Client, real_image: Image) -> Scanned:
    """``real_image`` pushed by tag to a scan-on-push repository, its scan finished."""
    repo = f"scan-test/real-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True})
    digest = push_image(v2, repo, real_image, "v1")
    assert digest == real_image.digest
    result = wait_scan(ecr, repo, {"imageTag": "v1"})
    return Scanned(repo, "v1", digest, result)
