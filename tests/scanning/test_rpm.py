"""rpm: a real sqlite rpmdb, written by rpm itself from packages built with rpmbuild.

The packages are made here (Debian's ``rpm`` package brings ``rpmbuild``; no RPM repository
is reachable from this machine), but the database and every header in it are rpm's own.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.scanning import ScanLimits, build_inventory
from dockyard.scanning.inventory import parse_rpmdb_sqlite
from tests.scanning.test_inventory import opener
from tests.support.realdata import Entry, gzip_layer
from tests.support.tools import require_tool, run

GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

SPEC = """\
Name: hello-scan
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: Dockyard scanner test package
License: MIT
BuildArch: noarch
%description
A package with an epoch and a subpackage.
%package libs
Summary: Its library
%description libs
The library.
%files
%files libs
"""

PLAIN_SPEC = """\
Name: plain
Version: 0.9
Release: 1.el9
Summary: No epoch
License: MIT
BuildArch: noarch
%description
No epoch.
%files
"""

ROCKY_OS_RELEASE = b"""NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
"""


def build_rpmdb(tmp_path: Path) -> bytes:
    rpmbuild, rpm = require_tool("rpmbuild"), require_tool("rpm")
    top, db = tmp_path / "rpmbuild", tmp_path / "db"
    for name, text in (("hello-scan", SPEC), ("plain", PLAIN_SPEC)):
        spec = tmp_path / f"{name}.spec"
        spec.write_text(text)
        run([rpmbuild, "-bb", "--quiet", "--define", f"_topdir {top}", spec])
    db.mkdir()
    dbopts = ["--dbpath", str(db), "--define", "_db_backend sqlite"]
    run([rpm, *dbopts, "--initdb"])
    packages = sorted((top / "RPMS" / "noarch").glob("*.rpm"))
    assert len(packages) == 3
    run([rpm, *dbopts, "-i", "--justdb", "--nodeps", "--noscripts", "--notriggers", *packages])
    return (db / "rpmdb.sqlite").read_bytes()


def test_rpm_sqlite_database(tmp_path: Path) -> None:
    rpmdb = build_rpmdb(tmp_path)
    layer = gzip_layer(
        [Entry("etc/os-release", ROCKY_OS_RELEASE), Entry("var/lib/rpm/rpmdb.sqlite", rpmdb)]
    )
    inventory = build_inventory([(GZIP, opener(layer))], ScanLimits())
    found = [
        (p.ecosystem, p.name, p.version, p.source_name, p.source_version, p.arch, p.purl)
        for p in inventory.packages
    ]
    distro = "distro=rocky-9.3"
    assert found == [
        (
            "Rocky Linux:9",
            "hello-scan",
            "2:1.2.3-4.el9",
            "hello-scan",
            "2:1.2.3-4.el9",
            "noarch",
            f"pkg:rpm/rocky/hello-scan@1.2.3-4.el9?arch=noarch&{distro}&epoch=2",
        ),
        (
            "Rocky Linux:9",
            "hello-scan-libs",
            "2:1.2.3-4.el9",
            "hello-scan",
            "2:1.2.3-4.el9",
            "noarch",
            f"pkg:rpm/rocky/hello-scan-libs@1.2.3-4.el9?arch=noarch&{distro}&epoch=2",
        ),
        (
            "Rocky Linux:9",
            "plain",
            "0.9-1.el9",
            "plain",
            "0.9-1.el9",
            "noarch",
            f"pkg:rpm/rocky/plain@0.9-1.el9?arch=noarch&{distro}",
        ),
    ]
    assert inventory.notes == ()


def test_rpmdb_at_the_sysimage_path_and_garbage(tmp_path: Path) -> None:
    rpmdb = build_rpmdb(tmp_path)
    assert len(parse_rpmdb_sqlite(rpmdb)) == 3
    layer = gzip_layer(
        [
            Entry("usr/lib/sysimage/rpm/rpmdb.sqlite", rpmdb),
            Entry("var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\x00" + bytes(200)),
            Entry("var/lib/rpm/Packages", b"\x00" * 64),
        ]
    )
    inventory = build_inventory([(GZIP, opener(layer))], ScanLimits())
    # No os-release: the packages get the home distribution's ecosystem.
    assert [(p.ecosystem, p.name) for p in inventory.packages] == [
        ("Red Hat", "hello-scan"),
        ("Red Hat", "hello-scan-libs"),
        ("Red Hat", "plain"),
    ]
    assert len(inventory.notes) == 2
    assert "var/lib/rpm/rpmdb.sqlite could not be parsed" in inventory.notes[0]
    assert "BerkeleyDB" in inventory.notes[1]
