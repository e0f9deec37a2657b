"""A real image, layer by layer, for the scanning tests (built once per session).

0. Debian 12 base: this machine's os-release (at ``usr/lib/os-release``, with
   ``etc/os-release`` a relative symlink to it as on Debian) and a dpkg status assembled from
   the control fields of real ``.deb`` files; ``openssl`` is there as removed
   (``deinstall ok config-files``), as ``apt-get remove`` leaves it.
1. Python: ``requests 2.19.1``, ``urllib3 1.24.1``, ``Jinja2 2.10`` installed with
   ``pip install --no-deps --target`` under ``usr/local/lib/python3.11/site-packages``.
2. npm: the real ``package.json`` of ``lodash 4.17.20``, ``minimist 1.2.5`` and
   ``@isaacs/string-locale-compare 1.1.0`` under ``app/node_modules``, and the app's own.
3. Deletions: whiteouts of urllib3's dist-info and module, and ``app/node_modules`` made
   opaque with only ``minimist 1.2.8`` written back into it (in the same layer).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.support.realdata import (
    DEBS,
    Entry,
    deb_control,
    dpkg_status_paragraph,
    fetch_debs,
    gzip_layer,
    npm_package_jsons,
    os_release_of_this_machine,
    pip_target,
    tree_entries,
)

GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
SITE = "usr/local/lib/python3.11/site-packages"


@dataclass(frozen=True)
class Layer:
    media_type: str
    path: Path

    def opener(self) -> Callable[[], BinaryIO]:
        return lambda: open(self.path, "rb")


@dataclass(frozen=True)
class BuiltImage:
    layers: tuple[Layer, ...]

    def inputs(self) -> list[tuple[str, Callable[[], BinaryIO]]]:
        return [(layer.media_type, layer.opener()) for layer in self.layers]


def debian_status(debs: dict[str, Path]) -> bytes:
    paragraphs = []
    for name in DEBS:
        status = "deinstall ok config-files" if name == "openssl" else "install ok installed"
        paragraphs.append(dpkg_status_paragraph(deb_control(debs[name]), status))
    return "\n".join(paragraphs).encode()


@pytest.fixture(scope="session")
def debian_status_bytes() -> bytes:
    return debian_status(fetch_debs())


@pytest.fixture(scope="session")
def real_image(tmp_path_factory: pytest.TempPathFactory, debian_status_bytes: bytes) -> BuiltImage:
    site = pip_target()
    npm = npm_package_jsons()
    layers: list[list[Entry]] = [
        [
            Entry.dir("etc"),
            Entry.symlink("etc/os-release", "../usr/lib/os-release"),
            Entry.dir("usr"),
            Entry.dir("usr/lib"),
            Entry("usr/lib/os-release", os_release_of_this_machine()),
            Entry.dir("var/lib/dpkg"),
            Entry("var/lib/dpkg/status", debian_status_bytes),
        ],
        tree_entries(site, SITE),
        [
            Entry.dir("app"),
            Entry("app/package.json", b'{"name": "the-app", "version": "0.1.0"}\n'),
            Entry.dir("app/node_modules"),
            *(
                Entry(f"app/node_modules/{name}/package.json", data)
                for name, data in sorted(npm.items())
            ),
        ],
        [
            Entry.whiteout(f"{SITE}/urllib3-1.24.1.dist-info"),
            Entry.whiteout(f"{SITE}/urllib3"),
            Entry.dir("app/node_modules"),
            Entry.dir("app/node_modules/minimist"),
            Entry(
                "app/node_modules/minimist/package.json",
                json.dumps({"name": "minimist", "version": "1.2.8"}).encode(),
            ),
            # After the new file on purpose: an opaque marker hides lower layers only.
            Entry.opaque("app/node_modules"),
        ],
    ]
    directory = tmp_path_factory.mktemp("real-image")
    written = []
    for index, entries in enumerate(layers):
        path = directory / f"layer{index}.tar.gz"
        path.write_bytes(gzip_layer(entries))
        written.append(Layer(GZIP, path))
    return BuiltImage(tuple(written))
