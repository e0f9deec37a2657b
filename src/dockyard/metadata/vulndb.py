"""The vulnerability database: OSV records stored for lookup by (ecosystem, package name).

An import replaces records by id: a record whose stored JSON is identical is left alone (so
importing the same zip twice changes nothing), a changed record replaces the stored one unless
it is older (its ``modified`` is before the stored record's), a new one is added. Records are
written in batches, each its own transaction, so an import never holds the database's write
lock for long and a crashed import is finished by running it again. With ``prune`` an import
of a complete export (osv.dev's ``all.zip`` of an ecosystem) also removes the records of its
ecosystems that it no longer holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from dockyard.metadata.common import aware
from dockyard.metadata.common import now as utc_now
from dockyard.metadata.database import bytewise, reading, writing
from dockyard.metadata.tables import vuln_imports, vuln_packages, vuln_records
from dockyard.scanning.osv import OsvRecord, normalize_name, open_source, parse_record
from dockyard.scanning.severity import severity_of

# Called after every batch with (entries or records done, total if known).
Progress = Callable[[int, int | None], None]

_CHUNK = 500  # names or ids per IN (...) clause
_UPDATED = (
    "modified",
    "withdrawn",
    "digest",
    "record",
    "severity",
    "cvss_score",
    "cvss_vector",
    "imported_at",
)


@dataclass(frozen=True, slots=True)
class ImportResult:
    source: str
    records: int  # valid records read
    invalid: int  # records (or files) refused
    problems: tuple[str, ...]  # the first few reasons
    added: int
    updated: int
    unchanged: int
    older: int  # skipped: the stored record is newer
    removed: int  # pruned
    ecosystems: dict[str, int]  # records read per ecosystem
    data_modified: datetime | None  # the newest ``modified`` among the records read
    started_at: datetime
    finished_at: datetime

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True, slots=True)
class EcosystemCount:
    ecosystem: str
    records: int  # records affecting a package of the ecosystem, withdrawn ones included
    withdrawn: int


@dataclass(frozen=True, slots=True)
class VulnDbStatus:
    records: int
    withdrawn: int
    ecosystems: tuple[EcosystemCount, ...]
    data_modified: datetime | None  # the newest ``modified`` of any stored record
    last_import_at: datetime | None
    last_change_at: datetime | None  # the end of the last import that changed something
    imports: int


@dataclass(frozen=True, slots=True)
class _Prepared:
    record: OsvRecord
    document: dict[str, Any]
    digest: str
    keys: frozenset[tuple[str, str]]


def _prepare(record: OsvRecord) -> _Prepared:
    document = record.to_json()
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _Prepared(
        record=record,
        document=document,
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
        keys=record.package_keys(),
    )


def _chunks(items: list[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class VulnStore:
    def __init__(self, engine: Engine, batch_size: int = 1000) -> None:
        self._engine = engine
        self._batch_size = batch_size

    # -- import ----------------------------------------------------------------------------------

    def import_source(
        self,
        location: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        prune: bool = False,
        temp_dir: str | os.PathLike[str] | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> ImportResult:
        """Import a zip, directory, JSON file or URL (see :func:`scanning.osv.open_source`)."""
        with open_source(location, temp_dir=temp_dir) as source:
            result = self._import(
                iter(source), os.fspath(location), source.entries, progress, prune, now
            )
            result = dataclasses.replace(
                result,
                invalid=source.invalid,
                problems=tuple(str(problem) for problem in source.problems),
            )
        self._log(result)
        return result

    def import_records(
        self,
        records: Iterable[OsvRecord],
        *,
        source: str = "records",
        total: int | None = None,
        progress: Progress | None = None,
        prune: bool = False,
        now: Callable[[], datetime] = utc_now,
    ) -> ImportResult:
        """Import records already parsed."""
        result = self._import(iter(records), source, total, progress, prune, now)
        self._log(result)
        return result

    def _import(
        self,
        records: Iterator[OsvRecord],
        source: str,
        total: int | None,
        progress: Progress | None,
        prune: bool,
        now: Callable[[], datetime],
    ) -> ImportResult:
        started = now()
        counts = {"added": 0, "updated": 0, "unchanged": 0, "older": 0}
        ecosystems: dict[str, int] = {}
        seen: set[str] = set()
        newest: datetime | None = None
        read = 0
        batch: dict[str, _Prepared] = {}

        def flush() -> None:
            if batch:
                with writing(self._engine) as conn:
                    for key, value in _write_batch(conn, list(batch.values()), now()).items():
                        counts[key] += value
                batch.clear()
            if progress is not None:
                progress(read, total)

        for record in records:
            read += 1
            seen.add(record.id)
            newest = record.modified if newest is None else max(newest, record.modified)
            for ecosystem in {eco for eco, _ in record.package_keys()}:
                ecosystems[ecosystem] = ecosystems.get(ecosystem, 0) + 1
            previous = batch.get(record.id)
            if previous is None or record.modified >= previous.record.modified:
                batch[record.id] = _prepare(record)
            if len(batch) >= self._batch_size:
                flush()
        flush()
        removed = self._prune(set(ecosystems), seen) if prune else 0
        return ImportResult(
            source=source,
            records=read,
            invalid=0,
            problems=(),
            added=counts["added"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            older=counts["older"],
            removed=removed,
            ecosystems=dict(sorted(ecosystems.items())),
            data_modified=newest,
            started_at=started,
            finished_at=now(),
        )

    def _prune(self, ecosystems: set[str], seen: set[str]) -> int:
        if not ecosystems:
            return 0
        with reading(self._engine) as conn:
            stored = set(
                conn.execute(
                    select(vuln_packages.c.record_id)
                    .where(vuln_packages.c.ecosystem.in_(sorted(ecosystems)))
                    .distinct()
                ).scalars()
            )
        stale = sorted(stored - seen)
        for chunk in _chunks(stale):
            with writing(self._engine) as conn:
                conn.execute(delete(vuln_packages).where(vuln_packages.c.record_id.in_(chunk)))
                conn.execute(delete(vuln_records).where(vuln_records.c.id.in_(chunk)))
        return len(stale)

    def _log(self, result: ImportResult) -> None:
        with writing(self._engine) as conn:
            conn.execute(
                insert(vuln_imports).values(
                    source=result.source,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    records=result.records,
                    invalid=result.invalid,
                    added=result.added,
                    updated=result.updated,
                    unchanged=result.unchanged,
                    removed=result.removed,
                    data_modified=result.data_modified,
                )
            )

    # -- queries ---------------------------------------------------------------------------------

    def candidates(
        self, ecosystem: str, names: Iterable[str], *, include_withdrawn: bool = False
    ) -> list[OsvRecord]:
        """The records naming any of ``names`` (normalised here) in ``ecosystem``, by id."""
        wanted = sorted({normalize_name(ecosystem, name) for name in names})
        found: dict[str, OsvRecord] = {}
        with reading(self._engine) as conn:
            for chunk in _chunks(wanted):
                ids = (
                    select(vuln_packages.c.record_id)
                    .where(vuln_packages.c.ecosystem == ecosystem)
                    .where(vuln_packages.c.name.in_(chunk))
                )
                query = select(vuln_records.c.id, vuln_records.c.record).where(
                    vuln_records.c.id.in_(ids)
                )
                if not include_withdrawn:
                    query = query.where(vuln_records.c.withdrawn.is_(None))
                for row in conn.execute(query):
                    if row.id not in found:
                        found[row.id] = parse_record(row.record)
        return [found[key] for key in sorted(found)]

    def get(self, record_id: str) -> OsvRecord | None:
        with reading(self._engine) as conn:
            document = conn.execute(
                select(vuln_records.c.record).where(vuln_records.c.id == record_id)
            ).scalar()
        return parse_record(document) if document is not None else None

    def status(self) -> VulnDbStatus:
        with reading(self._engine) as conn:
            total, withdrawn, newest = conn.execute(
                select(
                    func.count(),
                    func.count(vuln_records.c.withdrawn),
                    func.max(vuln_records.c.modified),
                )
            ).one()
            per_ecosystem = conn.execute(
                select(
                    vuln_packages.c.ecosystem,
                    func.count(func.distinct(vuln_packages.c.record_id)),
                )
                .group_by(vuln_packages.c.ecosystem)
                .order_by(bytewise(vuln_packages.c.ecosystem))
            ).all()
            withdrawn_per_ecosystem: dict[str, int] = {
                row[0]: int(row[1])
                for row in conn.execute(
                    select(
                        vuln_packages.c.ecosystem,
                        func.count(func.distinct(vuln_packages.c.record_id)),
                    )
                    .join(vuln_records, vuln_records.c.id == vuln_packages.c.record_id)
                    .where(vuln_records.c.withdrawn.is_not(None))
                    .group_by(vuln_packages.c.ecosystem)
                )
            }
            imports, last_import = conn.execute(
                select(func.count(), func.max(vuln_imports.c.finished_at))
            ).one()
            last_change = conn.execute(
                select(func.max(vuln_imports.c.finished_at)).where(
                    (vuln_imports.c.added + vuln_imports.c.updated + vuln_imports.c.removed) > 0
                )
            ).scalar()
        return VulnDbStatus(
            records=int(total),
            withdrawn=int(withdrawn),
            ecosystems=tuple(
                EcosystemCount(
                    ecosystem=row[0],
                    records=int(row[1]),
                    withdrawn=withdrawn_per_ecosystem.get(row[0], 0),
                )
                for row in per_ecosystem
            ),
            data_modified=aware(newest) if newest is not None else None,
            last_import_at=aware(last_import) if last_import is not None else None,
            last_change_at=aware(last_change) if last_change is not None else None,
            imports=int(imports),
        )


def _write_batch(conn: Connection, batch: list[_Prepared], now: datetime) -> dict[str, int]:
    ids = [item.record.id for item in batch]
    existing = {
        row.id: (row.digest, aware(row.modified))
        for row in conn.execute(
            select(vuln_records.c.id, vuln_records.c.digest, vuln_records.c.modified).where(
                vuln_records.c.id.in_(ids)
            )
        )
    }
    new: list[_Prepared] = []
    changed: list[_Prepared] = []
    counts = {"added": 0, "updated": 0, "unchanged": 0, "older": 0}
    for item in batch:
        stored = existing.get(item.record.id)
        if stored is None:
            new.append(item)
        elif stored[0] == item.digest:
            counts["unchanged"] += 1
        elif item.record.modified < stored[1]:
            counts["older"] += 1
        else:
            changed.append(item)
    counts["added"] = len(new)
    counts["updated"] = len(changed)
    if new:
        conn.execute(insert(vuln_records), [_row(item, now) for item in new])
    if changed:
        conn.execute(
            update(vuln_records)
            .where(vuln_records.c.id == bindparam("b_id"))
            .values({column: bindparam(f"b_{column}") for column in _UPDATED}),
            [{f"b_{key}": value for key, value in _row(item, now).items()} for item in changed],
        )
        for chunk in _chunks([item.record.id for item in changed]):
            conn.execute(delete(vuln_packages).where(vuln_packages.c.record_id.in_(chunk)))
    index = [
        {"ecosystem": ecosystem, "name": name, "record_id": item.record.id}
        for item in (*new, *changed)
        for ecosystem, name in sorted(item.keys)
    ]
    if index:
        conn.execute(insert(vuln_packages), index)
    return counts


def _row(item: _Prepared, now: datetime) -> dict[str, Any]:
    severity = severity_of(item.record)
    return {
        "id": item.record.id,
        "modified": item.record.modified,
        "withdrawn": item.record.withdrawn,
        "digest": item.digest,
        "record": item.document,
        "severity": severity.severity,
        "cvss_score": severity.score,
        "cvss_vector": severity.vector,
        "imported_at": now,
    }


__all__ = ["EcosystemCount", "ImportResult", "Progress", "VulnDbStatus", "VulnStore"]
