"""OSV records: validation, and reading zips, directories, JSON files and URLs."""

from __future__ import annotations

import copy
import functools
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dockyard.scanning.osv import (
    InvalidRecord,
    OsvRecord,
    SourceError,
    normalize_name,
    open_source,
    parse_record,
)
from tests.support.osvdata import DEBIAN_ZIP, PYPI_ZIP

MINIMAL: dict[str, Any] = {
    "id": "TEST-1",
    "modified": "2024-01-02T03:04:05Z",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Demo_Pkg", "purl": "pkg:pypi/demo-pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}],
            "versions": ["1.0", "1.1"],
        }
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    document.update(changes)
    return document


def _affected(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(MINIMAL["affected"][0])
    entry.update(changes)
    return _with(affected=[entry])


def test_a_minimal_record_parses() -> None:
    record = parse_record(MINIMAL)
    assert record.id == "TEST-1"
    assert record.modified == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    (entry,) = record.affected
    assert entry.package is not None
    assert (entry.package.ecosystem, entry.package.name) == ("PyPI", "Demo_Pkg")
    assert [(e.kind, e.version) for e in entry.ranges[0].events] == [
        ("introduced", "0"),
        ("fixed", "1.2"),
    ]
    assert entry.versions == ("1.0", "1.1")
    assert record.package_keys() == {("PyPI", "demo-pkg")}
    assert not record.is_withdrawn


def test_every_field_the_model_keeps_round_trips() -> None:
    document = _with(
        schema_version="1.6.0",
        published="2023-05-26T18:15:00Z",
        withdrawn="2023-06-01T00:00:00Z",
        aliases=["CVE-2023-1", "GHSA-aaaa-bbbb-cccc"],
        upstream=["CVE-2023-2"],
        related=["OSV-1"],
        summary="one line",
        details="more",
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        references=[{"type": "ADVISORY", "url": "https://example.invalid/a"}],
        database_specific={"severity": "HIGH"},
    )
    document["affected"][0]["ecosystem_specific"] = {"urgency": "low"}
    document["affected"][0]["database_specific"] = {"source": "x"}
    document["affected"][0]["severity"] = [{"type": "Ubuntu", "score": "medium"}]
    document["affected"][0]["ranges"].append(
        {
            "type": "GIT",
            "repo": "https://example.invalid/repo",
            "events": [{"introduced": "0"}, {"limit": "abc"}],
        }
    )
    record = parse_record(document)
    assert parse_record(record.to_json()) == record
    assert record.cve_ids == ("CVE-2023-1", "CVE-2023-2")
    assert record.display_name == "CVE-2023-1"
    assert record.advisory_url == "https://example.invalid/a"
    assert record.is_withdrawn


def test_all_real_records_parse_and_round_trip(all_records: dict[str, OsvRecord]) -> None:
    assert len(all_records) == 2661 + 98
    for record in all_records.values():
        assert parse_record(record.to_json()) == record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-10T17:22:00.587279Z", datetime(2024, 10, 10, 17, 22, 0, 587279, tzinfo=UTC)),
        ("2023-07-28 16:31:09.279625+00:00", datetime(2023, 7, 28, 16, 31, 9, 279625, tzinfo=UTC)),
        ("2021-12-09T06:35:20.792Z", datetime(2021, 12, 9, 6, 35, 20, 792000, tzinfo=UTC)),
        ("2021-05-11T15:18:00Z", datetime(2021, 5, 11, 15, 18, tzinfo=UTC)),
        ("2021-05-11T17:18:00+02:00", datetime(2021, 5, 11, 15, 18, tzinfo=UTC)),
        ("0001-01-01 00:00:00+00:00", datetime(1, 1, 1, tzinfo=UTC)),  # PYSEC-2024-55
    ],
)
def test_timestamps_in_the_forms_the_real_data_uses(text: str, expected: datetime) -> None:
    assert parse_record(_with(modified=text)).modified == expected


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "must be a JSON object"),
        (_with(id=""), "'id'"),
        (_with(id=7), "'id'"),
        ({"id": "X-1"}, "missing 'modified'"),
        (_with(modified="yesterday"), "'modified' is not an RFC 3339 timestamp"),
        (_with(withdrawn=5), "'withdrawn'"),
        (_with(aliases="CVE-1"), "'aliases' must be a list"),
        (_with(aliases=[1]), "'aliases' must be a list of strings"),
        (_with(summary=["x"]), "'summary' must be a string"),
        (_with(severity=[{"type": "CVSS_V3"}]), "severity[0].score"),
        (_with(affected={}), "'affected' must be a list"),
        (_with(affected=["x"]), "'affected[0]' must be an object"),
        (_affected(package={"name": "x"}), "package.ecosystem"),
        (_affected(package={"ecosystem": "PyPI", "name": ""}), "package.name"),
        (_affected(package=None), "ranges but no package"),
        (_affected(ranges=[{"type": "RANGE", "events": [{"introduced": "0"}]}]), ".type' must"),
        (_affected(ranges=[{"type": "GIT", "events": [{"introduced": "0"}]}]), "without 'repo'"),
        (_affected(ranges=[{"type": "ECOSYSTEM", "events": [{"fixed": "1"}]}]), "no 'introduced'"),
        (
            _affected(
                ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]
            ),
            "exactly one key",
        ),
        (
            _affected(ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"x": "1"}]}]),
            "unknown event 'x'",
        ),
        (
            _affected(
                ranges=[
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "2"}, {"last_affected": "1"}],
                    }
                ]
            ),
            "both 'fixed' and 'last_affected'",
        ),
        (
            _affected(ranges=[{"type": "SEMVER", "events": [{"introduced": 0}]}]),
            "events[0].introduced",
        ),
        (_affected(versions=[1, 2]), "versions"),
        (_affected(ecosystem_specific=[]), "ecosystem_specific"),
        (_with(references=[{"type": "WEB"}]), "references[0].url"),
        (_with(database_specific="x"), "database_specific"),
    ],
)
def test_invalid_records_say_why(document: Any, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_record(document)
    assert reason in str(caught.value)


def test_a_gitonly_entry_needs_no_package() -> None:
    record = parse_record(
        _affected(
            package=None,
            ranges=[
                {
                    "type": "GIT",
                    "repo": "https://example.invalid/r",
                    "events": [{"introduced": "0"}, {"fixed": "abc"}],
                }
            ],
        )
    )
    assert record.package_keys() == frozenset()


def test_pypi_names_are_normalised_other_ecosystems_are_not() -> None:
    assert normalize_name("PyPI", "Jinja2") == "jinja2"
    assert normalize_name("PyPI", "zope.interface") == "zope-interface"
    assert normalize_name("PyPI", "Foo__Bar-.baz") == "foo-bar-baz"
    assert normalize_name("Debian:12", "libssl3") == "libssl3"
    assert normalize_name("npm", "@Scope/Pkg") == "@Scope/Pkg"


# -- sources ------------------------------------------------------------------------------------


def test_the_real_zips_read_completely() -> None:
    with open_source(PYPI_ZIP) as source:
        ids = [record.id for record in source]
        assert (source.entries, source.valid, source.invalid) == (2661, 2661, 0)
    assert len(set(ids)) == 2661
    with open_source(DEBIAN_ZIP) as source:
        records = list(source)
        assert (source.entries, source.valid, source.invalid) == (98, 98, 0)
    assert {r.affected[0].package.name for r in records if r.affected[0].package} == {
        "openssl",
        "perl",
        "pcre2",
    }


def _zip_with_bad_records(path: Path) -> Path:
    with zipfile.ZipFile(DEBIAN_ZIP) as source, zipfile.ZipFile(path, "w") as out:
        for name in source.namelist()[:5]:
            out.writestr(f"nested/dir/{name}", source.read(name))
        out.writestr("broken.json", b"{not json")
        out.writestr("no-modified.json", json.dumps({"id": "BAD-1"}))
        out.writestr("bad-range.json", json.dumps(_affected(ranges=[{"type": "X", "events": []}])))
        out.writestr("README.md", b"not a record")
        out.writestr("list.json", json.dumps([_with(id="LIST-1"), _with(id="LIST-2")]))
    return path


def test_invalid_entries_are_counted_and_reported_without_stopping(tmp_path: Path) -> None:
    archive = _zip_with_bad_records(tmp_path / "mixed.zip")
    with open_source(archive, max_problems=2) as source:
        ids = sorted(record.id for record in source)
        assert source.entries == 9  # the JSON files
        assert source.valid == 7
        assert source.invalid == 3
        assert len(source.problems) == 2  # the first two reasons are kept
        assert source.problems[0].entry == "broken.json"
        assert "unreadable JSON" in source.problems[0].reason
        assert "missing 'modified'" in str(source.problems[1])
    assert "LIST-1" in ids and "LIST-2" in ids
    assert len([i for i in ids if i.startswith("DEBIAN-")]) == 5


def test_a_directory_of_json_files(tmp_path: Path) -> None:
    with zipfile.ZipFile(DEBIAN_ZIP) as archive:
        archive.extractall(tmp_path / "data" / "debian")
    (tmp_path / "data" / "notes.txt").write_text("ignored")
    (tmp_path / "data" / "bad.json").write_text("[1]")
    with open_source(tmp_path / "data") as source:
        records = list(source)
        assert (source.entries, source.valid, source.invalid) == (99, 98, 1)
    assert len(records) == 98


def test_a_single_json_file(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(MINIMAL))
    with open_source(path) as source:
        assert [r.id for r in source] == ["TEST-1"]


@pytest.mark.parametrize("name", ["missing.zip", "not-a-zip.bin"])
def test_unreadable_sources_raise(tmp_path: Path, name: str) -> None:
    (tmp_path / "not-a-zip.bin").write_bytes(b"\x00\x01garbage")
    with pytest.raises(SourceError):
        open_source(tmp_path / name)


def test_unsupported_url_schemes_raise() -> None:
    with pytest.raises(SourceError):
        open_source("ftp://example.invalid/all.zip")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_a_zip_by_url_streams_to_a_temporary_file(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = http_root
    (root / "all.zip").write_bytes(DEBIAN_ZIP.read_bytes())
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with open_source(f"{base}/all.zip", temp_dir=downloads) as source:
        assert source.entries == 98
        assert len(list(downloads.iterdir())) == 1
        assert len(list(source)) == 98
    assert list(downloads.iterdir()) == []  # removed on close


def test_a_failed_download_raises_and_leaves_nothing(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = http_root
    with pytest.raises(SourceError, match="download failed"):
        open_source(f"{base}/missing.zip", temp_dir=tmp_path)
    assert list(tmp_path.glob("osv-*")) == []


def test_a_download_over_the_limit_is_abandoned(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = http_root
    (root / "all.zip").write_bytes(DEBIAN_ZIP.read_bytes())
    with pytest.raises(SourceError, match="larger than"):
        open_source(f"{base}/all.zip", temp_dir=tmp_path, max_download_bytes=1000)
    assert list(tmp_path.glob("osv-*")) == []
