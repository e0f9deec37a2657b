"""The vulnerability database in SQL: imports of the real zips, lookups, status, migration."""

from __future__ import annotations

import dataclasses
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from dockyard.metadata import migrate, open_metadata
from dockyard.metadata.tables import metadata as schema
from dockyard.metadata.tables import vuln_packages, vuln_records
from dockyard.metadata.vulndb import VulnStore
from dockyard.scanning.matching import affected, lookup_names
from dockyard.scanning.osv import OsvRecord, parse_record
from tests.support.osvdata import DEBIAN_ZIP, PYPI_ZIP
from tests.support.postgres import Database
from tests.vulndb.conftest import LoadedStore, Pkg
from tests.vulndb.test_matching import PERL_FIXED_IN_DEB12U4


@pytest.fixture
def store(tmp_path: Path, database: Database) -> Iterator[VulnStore]:
    """An empty store on each metadata engine in turn."""
    metadata = open_metadata(database.url, tmp_path)
    yield VulnStore(metadata.engine, batch_size=400)
    metadata.close()


def _snapshot(store: VulnStore) -> list[tuple[Any, ...]]:
    engine = store._engine
    with engine.connect() as conn:
        records = conn.execute(
            select(
                vuln_records.c.id,
                vuln_records.c.digest,
                vuln_records.c.modified,
                vuln_records.c.imported_at,
            ).order_by(vuln_records.c.id)
        ).all()
        index = conn.execute(
            select(vuln_packages).order_by(
                vuln_packages.c.ecosystem, vuln_packages.c.name, vuln_packages.c.record_id
            )
        ).all()
    return [tuple(row) for row in [*records, *index]]


def test_both_zips_import_with_their_counts(loaded: LoadedStore) -> None:
    assert (loaded.pypi.records, loaded.pypi.invalid, loaded.pypi.added) == (2661, 0, 2661)
    assert loaded.pypi.ecosystems == {"PyPI": 2661}
    assert loaded.pypi.data_modified == datetime(2024, 10, 10, 17, 22, 0, 587279, tzinfo=UTC)
    assert (loaded.debian.records, loaded.debian.added) == (98, 98)
    assert loaded.debian.ecosystems == {"Debian:12": 98}
    assert loaded.debian.data_modified == datetime(2026, 11, 23, tzinfo=UTC)
    assert loaded.pypi.changed and loaded.debian.changed

    status = loaded.store.status()
    assert (status.records, status.withdrawn) == (2759, 10)
    by_ecosystem = {e.ecosystem: (e.records, e.withdrawn) for e in status.ecosystems}
    assert by_ecosystem == {"Debian:12": (98, 0), "PyPI": (2661, 10)}
    assert status.data_modified == datetime(2026, 11, 23, tzinfo=UTC)
    assert status.imports == 2
    assert status.last_import_at is not None and status.last_change_at == status.last_import_at


def test_candidates_find_records_by_normalised_name(loaded: LoadedStore) -> None:
    found = loaded.store.candidates("PyPI", {"Jinja2"})
    assert [r.id for r in found] == [
        "PYSEC-2014-8",
        "PYSEC-2014-82",
        "PYSEC-2019-217",
        "PYSEC-2019-220",
        "PYSEC-2021-66",
    ]
    assert loaded.store.candidates("PyPI", set()) == []
    assert loaded.store.candidates("PyPI", {"no-such-package"}) == []
    assert loaded.store.candidates("Debian:11", {"openssl"}) == []
    assert len(loaded.store.candidates("Debian:12", {"openssl", "perl", "pcre2"})) == 98


def test_candidates_leave_out_withdrawn_records_unless_asked(loaded: LoadedStore) -> None:
    assert loaded.store.candidates("PyPI", {"arrayfire"}) == []
    withdrawn = loaded.store.candidates("PyPI", {"arrayfire"}, include_withdrawn=True)
    assert [r.id for r in withdrawn] == ["PYSEC-2019-144"]
    assert withdrawn[0].withdrawn is not None


def test_candidates_for_many_names(loaded: LoadedStore) -> None:
    names = {f"unknown-{i}" for i in range(1200)} | {"requests", "urllib3"}
    ids = {r.id for r in loaded.store.candidates("PyPI", names)}
    assert {"PYSEC-2018-28", "PYSEC-2023-74", "PYSEC-2019-132"} <= ids
    assert len(ids) == 5 + 11


def test_stored_records_are_the_parsed_records(
    loaded: LoadedStore, all_records: dict[str, OsvRecord]
) -> None:
    for record_id in ["PYSEC-2023-74", "PYSEC-2022-42969", "DEBIAN-CVE-2026-103111"]:
        assert loaded.store.get(record_id) == all_records[record_id]
    assert loaded.store.get("NOPE-1") is None
    with loaded.store._engine.connect() as conn:
        row = conn.execute(select(vuln_records).where(vuln_records.c.id == "PYSEC-2017-105")).one()
    assert (row.severity, row.cvss_score) == ("HIGH", 7.5)
    assert row.cvss_vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"


def test_scanning_real_packages_through_the_store(loaded: LoadedStore) -> None:
    packages = [
        Pkg("Debian:12", "perl-base", "5.36.0-7+deb12u3", "perl", "5.36.0-7+deb12u3"),
        Pkg("Debian:12", "libssl3", "3.0.17-1~deb12u2", "openssl", "3.0.17-1~deb12u2"),
        Pkg("Debian:12", "libpcre2-8-0", "10.42-1", "pcre2", "10.42-1"),
        Pkg("PyPI", "requests", "2.19.1"),
        Pkg("PyPI", "urllib3", "1.24.1"),
        Pkg("PyPI", "Jinja2", "2.10"),
    ]
    found: dict[str, set[str]] = {}
    for ecosystem, names in lookup_names(packages).items():
        candidates = loaded.store.candidates(ecosystem, names)
        for package in packages:
            for record in candidates:
                if affected(record, package) is not None:
                    found.setdefault(package.name, set()).add(record.id)
    assert found["perl-base"] == PERL_FIXED_IN_DEB12U4
    assert len(found["libssl3"]) == 37
    assert found["libpcre2-8-0"] == {"DEBIAN-CVE-2026-103111"}
    assert found["requests"] == {"PYSEC-2018-28", "PYSEC-2023-74"}
    assert len(found["urllib3"]) == 7
    assert found["Jinja2"] == {"PYSEC-2019-217", "PYSEC-2021-66"}


def test_reimporting_the_same_zip_changes_nothing(store: VulnStore) -> None:
    first = store.import_source(PYPI_ZIP)
    assert first.added == 2661
    before = _snapshot(store)
    again = store.import_source(PYPI_ZIP)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 2661, 0)
    assert not again.changed
    assert _snapshot(store) == before
    status = store.status()
    assert status.imports == 2
    assert status.last_change_at == first.finished_at
    assert status.last_import_at == again.finished_at


def test_the_full_pypi_zip_imports_in_seconds(store: VulnStore) -> None:
    calls: list[tuple[int, int | None]] = []
    started = time.monotonic()
    result = store.import_source(PYPI_ZIP, progress=lambda done, total: calls.append((done, total)))
    elapsed = time.monotonic() - started
    assert result.records == 2661
    assert elapsed < 5.0, f"importing 2,661 records took {elapsed:.1f}s"
    # Progress after every batch of 400, out of the zip's 2,661 entries, ending complete.
    assert calls[-1] == (2661, 2661)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})
    assert len(calls) >= 2661 // 400


def _variant(record: OsvRecord, **changes: Any) -> OsvRecord:
    return dataclasses.replace(record, **changes)


def test_a_newer_record_replaces_the_stored_one(
    store: VulnStore, all_records: dict[str, OsvRecord]
) -> None:
    store.import_source(DEBIAN_ZIP)
    original = all_records["DEBIAN-CVE-2026-103111"]  # pcre2, fixed in 10.42-1+deb12u2
    document = original.to_json()
    document["modified"] = "2026-12-01T00:00:00Z"
    document["affected"][0]["package"]["name"] = "pcre3"
    document["affected"][0]["ranges"][0]["events"][1]["fixed"] = "10.42-1+deb12u3"
    newer = parse_record(document)
    result = store.import_records([newer], source="test")
    assert (result.added, result.updated, result.unchanged) == (0, 1, 0)
    assert store.get(newer.id) == newer
    # The index follows the record: the old name no longer finds it, the new one does.
    assert newer.id not in {r.id for r in store.candidates("Debian:12", {"pcre2"})}
    assert [r.id for r in store.candidates("Debian:12", {"pcre3"})] == [newer.id]
    assert store.status().records == 98


def test_an_older_record_does_not_replace_a_newer_one(
    store: VulnStore, all_records: dict[str, OsvRecord]
) -> None:
    store.import_source(DEBIAN_ZIP)
    original = all_records["DEBIAN-CVE-2019-1547"]
    older = _variant(original, modified=original.modified - timedelta(days=1), summary="old")
    result = store.import_records([older])
    assert (result.updated, result.older, result.changed) == (0, 1, False)
    assert store.get(original.id) == original


def test_a_record_withdrawn_by_an_update_stops_being_a_candidate(
    store: VulnStore, all_records: dict[str, OsvRecord]
) -> None:
    store.import_source(PYPI_ZIP)
    original = all_records["PYSEC-2018-28"]
    withdrawn = _variant(
        original,
        modified=original.modified + timedelta(days=1),
        withdrawn=original.modified + timedelta(days=1),
    )
    assert store.import_records([withdrawn]).updated == 1
    assert "PYSEC-2018-28" not in {r.id for r in store.candidates("PyPI", {"requests"})}
    assert store.status().withdrawn == 11


def test_duplicates_within_one_import_keep_the_newest(
    store: VulnStore, all_records: dict[str, OsvRecord]
) -> None:
    original = all_records["PYSEC-2023-74"]
    newer = _variant(original, modified=original.modified + timedelta(hours=1), summary="new")
    result = store.import_records([newer, original])
    assert (result.records, result.added) == (2, 1)
    assert store.get(original.id) == newer


def test_prune_removes_what_a_complete_export_no_longer_holds(
    store: VulnStore, tmp_path: Path
) -> None:
    store.import_source(PYPI_ZIP)
    store.import_source(DEBIAN_ZIP)
    smaller = tmp_path / "debian-subset.zip"
    with zipfile.ZipFile(DEBIAN_ZIP) as source, zipfile.ZipFile(smaller, "w") as out:
        kept = [name for name in source.namelist() if "CVE-2026" in name]
        for name in kept:
            out.writestr(name, source.read(name))
    result = store.import_source(smaller, prune=True)
    assert result.removed == 98 - len(kept)
    assert result.unchanged == len(kept)
    by_ecosystem = {e.ecosystem: e.records for e in store.status().ecosystems}
    assert by_ecosystem == {"Debian:12": len(kept), "PyPI": 2661}
    with store._engine.connect() as conn:
        orphans = conn.execute(
            select(vuln_packages.c.record_id).where(
                vuln_packages.c.record_id.not_in(select(vuln_records.c.id))
            )
        ).all()
    assert orphans == []


def test_invalid_records_are_reported_and_the_rest_imported(
    store: VulnStore, tmp_path: Path
) -> None:
    mixed = tmp_path / "mixed.zip"
    with zipfile.ZipFile(DEBIAN_ZIP) as source, zipfile.ZipFile(mixed, "w") as out:
        for name in source.namelist()[:10]:
            out.writestr(name, source.read(name))
        out.writestr("bad-1.json", json.dumps({"id": "BAD-1"}))
        out.writestr("bad-2.json", "{")
    result = store.import_source(mixed)
    assert (result.records, result.invalid, result.added) == (10, 2, 10)
    assert len(result.problems) == 2
    assert any("missing 'modified'" in problem for problem in result.problems)
    assert store.status().records == 10


def test_a_directory_imports_like_its_zip(store: VulnStore, tmp_path: Path) -> None:
    with zipfile.ZipFile(DEBIAN_ZIP) as archive:
        archive.extractall(tmp_path / "osv")
    result = store.import_source(tmp_path / "osv")
    assert (result.records, result.added) == (98, 98)
    assert store.import_source(DEBIAN_ZIP).unchanged == 98


# -- the migration --------------------------------------------------------------------------------


def _alembic(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrate._SCRIPTS))
    config.attributes["connection"] = connection
    return config


def test_the_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    """Migration 0004 creates exactly what ``tables.py`` declares for the vulnerability data."""
    scripts = ScriptDirectory.from_config(_alembic(None))
    assert scripts.get_revision("0004").down_revision == "0003"
    metadata = open_metadata(None, tmp_path)
    try:
        with metadata.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == scripts.get_current_head()
            differences = compare_metadata(context, schema)
        mine = [d for d in differences if "vuln_" in repr(d)]
        assert mine == []
    finally:
        metadata.close()


def test_migration_0004_downgrades_and_upgrades(tmp_path: Path) -> None:
    metadata = open_metadata(None, tmp_path)
    try:
        tables = {"vuln_records", "vuln_packages", "vuln_imports"}
        with metadata.engine.begin() as conn:
            command.downgrade(_alembic(conn), "0003")
        assert not tables & set(inspect(metadata.engine).get_table_names())
        with metadata.engine.begin() as conn:
            command.upgrade(_alembic(conn), "head")
        assert tables <= set(inspect(metadata.engine).get_table_names())
    finally:
        metadata.close()
