"""Copy all metadata from one database into another: how an installation moves from its
embedded SQLite onto PostgreSQL (``dockyard db copy --to postgresql://...``), or back.

The target is upgraded to the newest schema first (the source too: both must be at the
same revision) and must hold no rows at all, so nothing there is overwritten or mixed.
Tables are copied parents first (foreign keys hold at every insert), in batches, with their
ids as they are: every reference between rows stays true. PostgreSQL's id sequences are
then moved past the copied ids. The source is read in one transaction, a consistent
snapshot; the target is written in one, so a copy that fails leaves it empty and can
simply be run again. Writes to the source after the snapshot are not copied: stop the
servers first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, Table, func, insert, select

from dockyard.metadata import migrate
from dockyard.metadata.database import create_database_engine, reading, writing
from dockyard.metadata.tables import metadata

# Called as rows are copied: (table, rows copied so far, rows in the table).
CopyProgress = Callable[[str, int, int], None]
BATCH_SIZE = 1000


class CopyRefused(Exception):
    """The copy cannot start: the target holds data, or the schemas differ."""


@dataclass(frozen=True, slots=True)
class CopyResult:
    revision: str | None
    rows: dict[str, int]  # table -> rows copied, in the order copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_database(
    source_url: str,
    target_url: str,
    progress: CopyProgress | None = None,
    batch_size: int = BATCH_SIZE,
) -> CopyResult:
    """Copy every row of ``source_url``'s database into ``target_url``'s (see above)."""
    source = create_database_engine(source_url)
    target = create_database_engine(target_url)
    try:
        return _copy(source, target, progress or _quiet, batch_size)
    finally:
        source.dispose()
        target.dispose()


def _copy(source: Engine, target: Engine, progress: CopyProgress, batch_size: int) -> CopyResult:
    revision = migrate.upgrade(source)
    target_revision = migrate.upgrade(target)
    if revision != target_revision:
        raise CopyRefused(f"the source is at revision {revision}, the target at {target_revision}")
    tables = _copyable()
    with reading(target) as conn:
        held = {t.name: n for t in tables if (n := _count(conn, t))}
    if held:
        listed = ", ".join(f"{name} ({n} rows)" for name, n in held.items())
        raise CopyRefused(f"the target database is not empty: {listed}")
    copied: dict[str, int] = {}
    with reading(source) as src, writing(target) as dst:
        for table in tables:
            total = _count(src, table)
            progress(table.name, 0, total)
            done = 0
            for rows in _batches(src, table, batch_size):
                dst.execute(insert(table), [_portable(table, row) for row in rows])
                done += len(rows)
                progress(table.name, done, total)
            copied[table.name] = done
        _move_sequences(dst, tables)
    return CopyResult(revision, copied)


def _copyable() -> list[Table]:
    """The schema's tables, parents before children, as copies whose JSON columns keep SQL
    NULL as NULL (the schema's JSON type would write JSON ``null`` for it)."""
    shadow = MetaData()
    tables = [table.to_metadata(shadow) for table in metadata.sorted_tables]
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, JSON):
                column.type = JSON(none_as_null=True)
    return tables


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _batches(conn: Connection, table: Table, size: int) -> Any:
    query = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=size).execute(query)
    for partition in result.partitions(size):
        yield [dict(row._mapping) for row in partition]


def _portable(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the target must be given it: every moment in UTC, with its zone (SQLite
    hands back naive UTC; PostgreSQL would read a naive one in its session's zone)."""
    for column in table.columns:
        value = row.get(column.name)
        if isinstance(column.type, DateTime) and isinstance(value, datetime):
            row[column.name] = (
                value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            )
    return row


def _move_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: the next id of each table with a generated id comes after the copied ones
    (rows inserted with explicit ids leave its sequence where it was)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        conn.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, column.name),
                    func.coalesce(func.max(column), 1),
                    func.max(column).is_not(None),
                )
            ).select_from(table)
        )


def _quiet(_table: str, _done: int, _total: int) -> None:
    return None


__all__ = ["BATCH_SIZE", "CopyProgress", "CopyRefused", "CopyResult", "copy_database"]
