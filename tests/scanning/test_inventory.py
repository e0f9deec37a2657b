"""The package inventory of real layers: dpkg, PyPI and npm data as real tools leave it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import BinaryIO

from dockyard.scanning import Inventory, OsRelease, Package, ScanLimits, build_inventory
from dockyard.scanning.inventory import (
    normalize_python_name,
    os_ecosystem,
    parse_apk_installed,
    parse_dpkg_status,
    parse_os_release,
)
from tests.scanning.conftest import GZIP, SITE, BuiltImage
from tests.support.realdata import Entry, gzip_layer, os_release_of_this_machine, tar_bytes

TAR = "application/vnd.oci.image.layer.v1.tar"
DEB_PURL = "pkg:deb/debian/{}?arch=amd64&distro=debian-12"
STATUS = "var/lib/dpkg/status"


def deb(name: str, version: str, source: str, source_version: str, purl_version: str) -> Package:
    return Package(
        ecosystem="Debian:12",
        name=name,
        version=version,
        source_name=source,
        source_version=source_version,
        arch="amd64",
        purl=DEB_PURL.format(f"{name}@{purl_version}"),
        layer_digest_index=0,
        path=STATUS,
        display_name=name,
    )


EXPECTED_DEBIAN = [
    # libidn2-0 is a binNMU: `Source: libidn2 (2.3.3-1)` names the source's own version.
    deb("libidn2-0", "2.3.3-1+b1", "libidn2", "2.3.3-1", "2.3.3-1%2Bb1"),
    deb("libpcre2-8-0", "10.42-1", "pcre2", "10.42-1", "10.42-1"),
    deb("libssl3", "3.0.17-1~deb12u2", "openssl", "3.0.17-1~deb12u2", "3.0.17-1~deb12u2"),
    deb("perl-base", "5.36.0-7+deb12u3", "perl", "5.36.0-7+deb12u3", "5.36.0-7%2Bdeb12u3"),
    deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1"),
]


def pypi(name: str, display: str, version: str) -> Package:
    return Package(
        ecosystem="PyPI",
        name=name,
        version=version,
        source_name=None,
        source_version=None,
        arch=None,
        purl=f"pkg:pypi/{name}@{version}",
        layer_digest_index=1,
        path=f"{SITE}/{display}-{version}.dist-info/METADATA",
        display_name=display,
    )


EXPECTED = (
    *EXPECTED_DEBIAN,
    pypi("jinja2", "Jinja2", "2.10"),
    pypi("requests", "requests", "2.19.1"),
    Package(
        ecosystem="npm",
        name="minimist",
        version="1.2.8",
        source_name=None,
        source_version=None,
        arch=None,
        purl="pkg:npm/minimist@1.2.8",
        layer_digest_index=3,
        path="app/node_modules/minimist/package.json",
        display_name="minimist",
    ),
)


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def scan(*layers: list[Entry]) -> Inventory:
    return build_inventory(
        [(GZIP, opener(gzip_layer(entries))) for entries in layers], ScanLimits()
    )


def test_real_image_exact_inventory(real_image: BuiltImage) -> None:
    inventory = build_inventory(real_image.inputs(), ScanLimits())

    assert inventory.os == OsRelease(
        id="debian",
        version_id="12",
        version_codename="bookworm",
        name="Debian GNU/Linux",
        pretty_name="Debian GNU/Linux 12 (bookworm)",
        id_like=(),
        # etc/os-release is a symlink (not followed); os-release(5) falls back to this one.
        path="usr/lib/os-release",
        layer_digest_index=0,
    )
    assert inventory.packages == EXPECTED
    assert inventory.notes == ()


def test_what_is_not_reported(real_image: BuiltImage) -> None:
    names = {
        (p.ecosystem, p.name) for p in build_inventory(real_image.inputs(), ScanLimits()).packages
    }
    # `deinstall ok config-files`: removed, only its configuration files are left.
    assert ("Debian:12", "openssl") not in names
    # Deleted by whiteouts in layer 3.
    assert ("PyPI", "urllib3") not in names
    # Hidden by the opaque app/node_modules of layer 3 (minimist came back in a newer version).
    assert ("npm", "lodash") not in names
    assert ("npm", "@isaacs/string-locale-compare") not in names
    assert [p.version for p in EXPECTED if p.name == "minimist"] == ["1.2.8"]
    # The application's own package.json is not an installed dependency.
    assert ("npm", "the-app") not in names


def test_layers_below_the_deletions(real_image: BuiltImage) -> None:
    """Without the deleting layer, urllib3 and the three npm packages are there, scoped purl
    and all."""
    inventory = build_inventory(real_image.inputs()[:3], ScanLimits())
    found = {(p.ecosystem, p.name, p.version, p.purl) for p in inventory.packages}
    assert ("PyPI", "urllib3", "1.24.1", "pkg:pypi/urllib3@1.24.1") in found
    assert ("npm", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20") in found
    assert ("npm", "minimist", "1.2.5", "pkg:npm/minimist@1.2.5") in found
    assert (
        "npm",
        "@isaacs/string-locale-compare",
        "1.1.0",
        "pkg:npm/%40isaacs/string-locale-compare@1.1.0",
    ) in found
    assert len(inventory.packages) == len(EXPECTED_DEBIAN) + 3 + 3


def test_a_later_status_file_replaces_the_earlier_one(
    real_image: BuiltImage, debian_status_bytes: bytes
) -> None:
    """`apt-get remove perl-base` in an upper layer rewrites the whole status file."""
    paragraphs = debian_status_bytes.decode().split("\n\n")
    kept = [p for p in paragraphs if not p.startswith("Package: perl-base\n")]
    assert len(kept) == len(paragraphs) - 1
    upper = gzip_layer([Entry(STATUS, "\n\n".join(kept).encode())])
    layers = [*real_image.inputs(), (GZIP, opener(upper))]
    packages = build_inventory(layers, ScanLimits()).packages
    debian = [p for p in packages if p.ecosystem == "Debian:12"]
    assert [p.name for p in debian] == ["libidn2-0", "libpcre2-8-0", "libssl3", "zlib1g"]
    assert {p.layer_digest_index for p in debian} == {4}


def test_whiteout_of_a_file_and_of_a_whole_directory(debian_status_bytes: bytes) -> None:
    base = [Entry("usr/lib/os-release", os_release_of_this_machine())]
    status = Entry(STATUS, debian_status_bytes)
    assert len(scan([*base, status]).packages) == len(EXPECTED_DEBIAN)
    assert scan([*base, status], [Entry.whiteout(STATUS)]).packages == ()
    assert scan([*base, status], [Entry.whiteout("var/lib")]).packages == ()
    assert scan([*base, status], [Entry.opaque("var/lib/dpkg")]).packages == ()
    # ...and the OS goes with its os-release.
    assert scan(base, [Entry.whiteout("usr")]).os is None
    # A whiteout hides lower layers only, not a file of its own layer.
    assert len(scan(base, [status, Entry.whiteout(STATUS)]).packages) == len(EXPECTED_DEBIAN)


def test_a_file_or_link_replacing_a_directory_hides_its_content() -> None:
    pkg = Entry("app/node_modules/a/package.json", b'{"name": "a", "version": "1.0.0"}')
    assert [p.name for p in scan([pkg]).packages] == ["a"]
    assert scan([pkg], [Entry.symlink("app/node_modules", "/elsewhere")]).packages == ()
    assert scan([pkg], [Entry("app", b"now a file")]).packages == ()
    # A directory entry over a directory merges.
    assert [p.name for p in scan([pkg], [Entry.dir("app/node_modules")]).packages] == ["a"]


def test_python_layouts_and_name_normalisation() -> None:
    meta = b"Metadata-Version: 2.1\nName: Zope.Interface_Extra\nVersion: 5.0\n\nlong text\n"
    entries = [
        Entry(
            "opt/venv/lib/python3.11/site-packages/zope.interface_extra-5.0.dist-info/METADATA",
            meta,
        ),
        Entry(
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            b"Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n",
        ),
        # A single-file egg-info, as distutils installs leave them.
        Entry(
            "usr/lib/python3.11/lib-dynload/Old_Thing-0.1.egg-info",
            b"Metadata-Version: 1.0\nName: Old_Thing\nVersion: 0.1\n",
        ),
        # Not metadata: other files of a dist-info, a METADATA elsewhere.
        Entry("opt/venv/lib/python3.11/site-packages/x-1.dist-info/RECORD", b"junk"),
        Entry("srv/METADATA", b"Name: nope\nVersion: 1\n"),
    ]
    found = [(p.name, p.display_name, p.version, p.purl) for p in scan(entries).packages]
    assert found == [
        ("old-thing", "Old_Thing", "0.1", "pkg:pypi/old-thing@0.1"),
        ("six", "six", "1.16.0", "pkg:pypi/six@1.16.0"),
        (
            "zope-interface-extra",
            "Zope.Interface_Extra",
            "5.0",
            "pkg:pypi/zope.interface-extra@5.0",
        ),
    ]
    assert normalize_python_name("Jinja2") == "jinja2"
    assert normalize_python_name("a__b..c--d") == "a-b-c-d"


def test_npm_paths() -> None:
    def pj(name: str, version: str) -> bytes:
        return json.dumps({"name": name, "version": version}).encode()

    entries = [
        Entry("usr/lib/node_modules/npm/package.json", pj("npm", "10.8.2")),
        Entry("usr/lib/node_modules/npm/node_modules/semver/package.json", pj("semver", "7.6.3")),
        Entry("app/node_modules/@babel/core/package.json", pj("@babel/core", "7.24.0")),
        # Not packages: a package's own fixtures, a bare node_modules/package.json, bad JSON.
        Entry("app/node_modules/semver/test/fixtures/package.json", pj("fixture", "0.0.0")),
        Entry("app/node_modules/package.json", pj("stray", "1.0.0")),
        Entry("app/node_modules/broken/package.json", b"{not json"),
    ]
    inventory = scan(entries)
    assert [(p.name, p.version, p.purl) for p in inventory.packages] == [
        ("@babel/core", "7.24.0", "pkg:npm/%40babel/core@7.24.0"),
        ("npm", "10.8.2", "pkg:npm/npm@10.8.2"),
        ("semver", "7.6.3", "pkg:npm/semver@7.6.3"),
    ]
    assert len(inventory.notes) == 1
    assert "app/node_modules/broken/package.json could not be parsed" in inventory.notes[0]


def test_hard_link_to_metadata_in_the_same_layer() -> None:
    meta = b"Name: attrs\nVersion: 23.1.0\n"
    a = "srv/a/attrs-23.1.0.dist-info/METADATA"
    b = "srv/b/attrs-23.1.0.dist-info/METADATA"
    packages = scan([Entry(a, meta), Entry.hardlink(b, a)]).packages
    assert [(p.name, p.path) for p in packages] == [("attrs", a), ("attrs", b)]


def test_dpkg_status_rules() -> None:
    status = b"""Package: kept
Status: install ok installed
Version: 1.0-1
Architecture: arm64

Package: held
Status: hold ok installed
Version: 2.0-1
Architecture: all
Source: held-src

Package: removed
Status: deinstall ok config-files
Version: 1.0

Package: broken
Status: install reinstreq half-installed
Version: 1.0

Package: nostatus
Version: 1.0
"""
    found = {(f.name, f.version, f.arch, f.source_name) for f in parse_dpkg_status(status)}
    assert found == {("kept", "1.0-1", "arm64", "kept"), ("held", "2.0-1", "all", "held-src")}
    # status.d (distroless) paragraphs have no Status at all.
    assert [f.name for f in parse_dpkg_status(status, require_status=False)] == [
        "kept",
        "held",
        "nostatus",
    ]


def test_distroless_status_d() -> None:
    os_release = b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Distroless"\n'
    entries = [
        Entry("etc/os-release", os_release),
        Entry(
            "var/lib/dpkg/status.d/tzdata",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        ),
        Entry("var/lib/dpkg/status.d/tzdata.md5sums", b"d41d8cd98f00b204e9800998ecf8427e  x\n"),
    ]
    inventory = scan(entries)
    assert [(p.ecosystem, p.name, p.purl) for p in inventory.packages] == [
        (
            "Debian:12",
            "tzdata",
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
        )
    ]


# apk's installed database as Alpine 3.20 writes it (fields abridged).
APK_INSTALLED = b"""C:Q1fY8u0i6FHO7oBrxZlyWGXwzIhho=
P:musl
V:1.2.5-r0
A:x86_64
S:411429
I:799553
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712150467
c:c6b1ed3ee2dbd1d0a2e6bff5d7cc9f96e3b1dc67
F:lib
R:ld-musl-x86_64.so.1

C:Q1pu7ENdgIlASL3U9pVzDk9wrBjzo=
P:libcrypto3
V:3.3.2-r1
A:x86_64
o:openssl
F:usr/lib
R:libcrypto.so.3
"""


def test_alpine() -> None:
    os_release = (
        b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
    )
    inventory = scan(
        [Entry("etc/os-release", os_release), Entry("lib/apk/db/installed", APK_INSTALLED)]
    )
    assert [
        (p.ecosystem, p.name, p.version, p.source_name, p.arch, p.purl) for p in inventory.packages
    ] == [
        (
            "Alpine:v3.20",
            "libcrypto3",
            "3.3.2-r1",
            "openssl",
            "x86_64",
            "pkg:apk/alpine/libcrypto3@3.3.2-r1?arch=x86_64&distro=alpine-3.20.3",
        ),
        (
            "Alpine:v3.20",
            "musl",
            "1.2.5-r0",
            "musl",
            "x86_64",
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
        ),
    ]
    assert len(parse_apk_installed(APK_INSTALLED)) == 2


def test_os_release_parsing_and_ecosystems() -> None:
    parsed = parse_os_release(
        b'# comment\nNAME=\'Rocky Linux\'\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
        b'VERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n'
    )
    assert parsed is not None
    assert (parsed.id, parsed.version_id, parsed.id_like) == (
        "rocky",
        "9.3",
        ("rhel", "centos", "fedora"),
    )
    assert parse_os_release(b"NAME=nothing\n") is None

    def eco(text: str) -> str:
        release = parse_os_release(text.encode())
        assert release is not None
        return os_ecosystem(release)

    assert eco('ID=debian\nVERSION_ID="12"') == "Debian:12"
    assert eco("ID=debian\nVERSION_CODENAME=trixie") == "Debian:13"  # testing: no VERSION_ID
    assert (
        eco('ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"') == "Ubuntu:22.04:LTS"
    )
    assert eco("ID=alpine\nVERSION_ID=3.20.3") == "Alpine:v3.20"
    assert eco('ID=rocky\nVERSION_ID="9.3"') == "Rocky Linux:9"
    assert eco('ID=almalinux\nVERSION_ID="8.10"') == "AlmaLinux:8"
    assert eco('ID=rhel\nVERSION_ID="9.4"') == "Red Hat"
    assert eco('ID="opensuse-leap"\nVERSION_ID="15.5"') == "openSUSE:Leap 15.5"
    assert eco("ID=fedora\nVERSION_ID=40") == "fedora:40"  # no OSV ecosystem
    assert os_ecosystem(None) == "Debian"


def test_uncompressed_layers_read_too(debian_status_bytes: bytes) -> None:
    layer = tar_bytes([Entry(STATUS, debian_status_bytes)])
    inventory = build_inventory([(TAR, opener(layer))], ScanLimits())
    # No os-release: the Debian packages get the bare ecosystem and no distro qualifier.
    assert {p.ecosystem for p in inventory.packages} == {"Debian"}
    assert "pkg:deb/debian/libssl3@3.0.17-1~deb12u2?arch=amd64" in {
        p.purl for p in inventory.packages
    }
