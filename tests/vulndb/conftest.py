"""Real OSV data (``tests/data/vulndb`` in the checkout) and a store holding it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dockyard.metadata import open_metadata
from dockyard.metadata.vulndb import ImportResult, VulnStore
from dockyard.scanning.osv import OsvRecord, open_source
from tests.support.osvdata import DEBIAN_ZIP, PYPI_ZIP


@dataclass(frozen=True, slots=True)
class Pkg:
    """An installed package as the inventory reports it (only what matching reads)."""

    ecosystem: str
    name: str
    version: str
    source_name: str | None = None
    source_version: str | None = None


def _require_data() -> None:
    missing = [p for p in (PYPI_ZIP, DEBIAN_ZIP) if not p.is_file()]
    if missing:
        pytest.fail(f"the real OSV test data is missing from the checkout: {missing}")


@pytest.fixture(scope="session")
def all_records() -> dict[str, OsvRecord]:
    """Every record of both zips, by id, parsed without the database."""
    _require_data()
    records: dict[str, OsvRecord] = {}
    for path in (PYPI_ZIP, DEBIAN_ZIP):
        with open_source(path) as source:
            for record in source:
                records[record.id] = record
            assert source.invalid == 0, source.problems
    return records


@dataclass(frozen=True, slots=True)
class LoadedStore:
    store: VulnStore
    pypi: ImportResult
    debian: ImportResult


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedStore]:
    """A fresh SQLite database with every migration applied and both zips imported."""
    _require_data()
    metadata = open_metadata(None, tmp_path_factory.mktemp("vulndb"))
    store = VulnStore(metadata.engine)
    try:
        yield LoadedStore(
            store=store,
            pypi=store.import_source(PYPI_ZIP),
            debian=store.import_source(DEBIAN_ZIP),
        )
    finally:
        metadata.close()
