"""Engines and transactions, for SQLite (embedded) and PostgreSQL (shared by many processes).

SQLite runs in WAL mode so readers never wait for the writer; write transactions take the
write lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read
lock, and writers queue for it here (threads, and the node's processes on a file lock)
rather than in SQLite's sleeps.

PostgreSQL runs at READ COMMITTED. Races between writers, in this process or any other
on any node, are decided in the database: by unique constraints (a writer that loses is
retried once the winner has committed, see :func:`write_retrying`), row locks, and the
advisory locks below. Reads are REPEATABLE READ and read-only, so a read of several
statements sees one snapshot, as it does on SQLite; such transactions never fail to
serialize.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Connection, Engine, Table, create_engine, event
from sqlalchemy import String as _String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

T = TypeVar("T")

# Connections a PostgreSQL engine keeps (pool_size) and may open beyond them under load
# (max_overflow). Every worker process of every node has a pool of its own, and PostgreSQL
# allows 100 connections unless told otherwise: at 8 a process, 3 nodes of 4 workers fit
# (96). A process runs on one core, and its transactions are short: a few at a time keep
# it busy. All 8 are kept: a connection opened beyond those kept is closed as soon as it is
# returned, and PostgreSQL forks a process for every connection, so under steady load
# overflow meant a fork per request (measured: most of a core on manifest GETs at c=32).
# SQLite's 16 + 32 would let 2 nodes of 2 workers open 192. Set per URL with
# ``?pool_size=N&max_overflow=M`` (e.g. for a server far away, where each transaction
# holds its connection for longer).
PG_POOL_SIZE = 8
PG_MAX_OVERFLOW = 0
# A pooled connection unused for this long is checked before use (PostgreSQL restarted,
# an idle timeout closed it). One in steady use is not: the check is a round trip per
# transaction. If one of those turns out dead, its transaction fails and the pool drops
# every connection opened before, so a restart costs each process at most that one.
PG_PING_AFTER_IDLE = 1.0
# How long a request waits for a free connection before it fails.
PG_POOL_TIMEOUT = 30
_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout")

# SQLSTATEs of a write that lost a race and is worth running again: unique_violation (the
# winner's row exists now), foreign_key_violation (the row referred to went meanwhile: run
# again, the writer sees it gone), serialization_failure and deadlock_detected.
_RETRYABLE = frozenset({"23505", "23503", "40001", "40P01"})
WRITE_ATTEMPTS = 5


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL for what an operator wrote.

    ``postgresql://`` and ``postgres://`` (libpq's forms) mean psycopg 3; a driver named
    explicitly (``postgresql+psycopg://``) is kept. Anything else is passed on as given.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def is_postgresql(url: str) -> bool:
    return normalize_url(url).startswith("postgresql")


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: say nothing of it
        return "<database URL>"


def create_database_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=32,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    parsed, pool = _pool_options(make_url(url))
    engine = create_engine(
        parsed,
        pool_size=pool.get("pool_size", PG_POOL_SIZE),
        max_overflow=pool.get("max_overflow", PG_MAX_OVERFLOW),
        pool_timeout=pool.get("pool_timeout", PG_POOL_TIMEOUT),
        isolation_level="READ COMMITTED",
    )
    event.listen(engine, "checkin", _returned)
    event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect))
    return engine


def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(
    dialect: Dialect, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
) -> None:
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < PG_PING_AFTER_IDLE:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except Exception as exc:
        # The pool replaces a connection whose check raises this, and tries again.
        raise DisconnectionError(f"pooled connection is gone: {exc}") from exc
    if not alive:
        raise DisconnectionError("pooled connection is gone")


def _pool_options(url: URL) -> tuple[URL, dict[str, int]]:
    """Dockyard's own query parameters (pool sizes) taken off the URL the driver sees."""
    found: dict[str, int] = {}
    for name in _POOL_OPTIONS:
        if name in url.query:
            value = url.query[name]
            text = value[-1] if isinstance(value, tuple) else value
            try:
                found[name] = int(text)
            except ValueError:
                raise ValueError(f"database URL: {name} must be a whole number") from None
    return url.difference_update_query(_POOL_OPTIONS), found


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module so "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get("single_statement"):
        return  # one SELECT is its own transaction: BEGIN and COMMIT would only cost time
    mode = "IMMEDIATE" if options.get("write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


# Per process and database file: a forked process must open its own lock file, since a
# file lock is shared by every process holding the same open file.
_WRITERS: dict[tuple[int, str | None], _WriteQueue] = {}


class _WriteQueue:
    """Writers of one SQLite file, one at a time, across threads and processes.

    SQLite lets one writer in; others that collide back off by sleeping (up to
    100 ms a try), which makes long tails. So writers queue here instead: a
    thread lock among this process's threads, then a lock on a file beside the
    database among the node's processes (workers, CLI commands). The kernel
    wakes the next waiter the moment the lock is released.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:":
            self._fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    # SQLite alone: on PostgreSQL nothing in a process decides between writers.
    queue = None
    if _is_sqlite(engine):
        place = (os.getpid(), engine.url.database)
        queue = _WRITERS.get(place)
        if queue is None:
            queue = _WRITERS.setdefault(place, _WriteQueue(engine.url.database))
    with contextlib.ExitStack() as stack:
        if queue is not None:
            stack.enter_context(queue.turn())
        connection = stack.enter_context(engine.connect().execution_options(write=True))
        stack.enter_context(connection.begin())
        yield connection


def write_retrying(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in a write transaction; run it again, in a new one, when it lost a race.

    On PostgreSQL two writers may both find a row missing and both insert it: the second
    waits for the first to commit and then fails on the unique constraint. Run again, it
    sees the winner's row and does what it would have done had it come second (moves a
    tag, refuses an immutable one). Deadlocks and serialization failures are retried the
    same way. ``work`` must only touch the database (it may run more than once). SQLite's
    single writer never loses such a race; its errors are raised at once.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with writing(engine) as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt == WRITE_ATTEMPTS or not lost_race(exc):
                raise
    raise AssertionError("unreachable")


def lost_race(exc: DBAPIError) -> bool:
    """The error is PostgreSQL telling a writer it lost a race to a concurrent one."""
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def reading(engine: Engine, single_statement: bool = False) -> Iterator[Connection]:
    """A read transaction; ``single_statement`` for a read of one statement, which needs
    no snapshot across statements (SQLite then runs it without BEGIN/COMMIT). On
    PostgreSQL a read of several statements is REPEATABLE READ and read-only: one
    snapshot, as SQLite gives, and never a serialization failure."""
    connection = engine.connect()
    if single_statement:
        connection = connection.execution_options(single_statement=True)
    elif not _is_sqlite(engine):
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    with connection, connection.begin():
        yield connection


def reads_are_local(engine: Engine) -> bool:
    """Whether a short read costs less than handing it to a thread: SQLite reads a local
    file in tens of microseconds, and in WAL mode never waits for a writer."""
    return _is_sqlite(engine)


# --------------------------------------------------------------------------- inserts


def insert_or_ignore(
    conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str]
) -> bool:
    """Insert a row unless one with the same ``keys`` (a unique constraint) exists: then
    nothing. True when the row was inserted. Waits for a concurrent insert of the same
    key to commit or roll back rather than failing."""
    statement = (
        _dialect_insert(conn, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(keys))
        # An INSERT's rowcount is not kept (-1 on psycopg): a returned row says it.
        .returning(table.c[keys[0]])
    )
    return conn.execute(statement).first() is not None


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert a row, or update the one with the same ``keys`` (by default every other
    column given) in the same statement: of two concurrent writers, the last one wins."""
    columns = [name for name in values if name not in keys] if update is None else update
    statement = _dialect_insert(conn, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )
    conn.execute(statement)


def dialect_statements(build: Callable[[Any], T]) -> dict[str, T]:
    """A statement built once for each dialect, from that dialect's ``insert`` (which has
    ``ON CONFLICT``); run the one of ``conn.dialect.name``."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {conn.dialect.name}")


# --------------------------------------------------------------------------- locks

# Keys of transaction-scoped advisory locks (PostgreSQL); any 64-bit numbers, the same in
# every process. SQLite needs none: its one writer at a time already excludes all others.
_GC_LOCK = 0x646F636B79617264  # "dockyard"
_MIGRATION_LOCK = _GC_LOCK + 1


def hold_off_gc(conn: Connection) -> None:
    """A writer about to make a reference GC decides by (a link, a manifest's references)
    holds GC off until its transaction ends; writers do not hold off each other.

    GC's destructive steps decide on a snapshot ("no manifest names this link", "nothing
    links this blob"); under READ COMMITTED a reference committed after that snapshot
    would be missed, and a row lock cannot protect a row that does not exist yet.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({_GC_LOCK})")


def exclude_writers(conn: Connection) -> None:
    """GC's side of :func:`hold_off_gc`: waits for writers making references to commit,
    and keeps new ones waiting until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_GC_LOCK})")


def serialize_migrations(conn: Connection) -> None:
    """One process at a time upgrades the schema; the others wait, then find it done."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")


# --------------------------------------------------------------------------- ordering


class bytewise(FunctionElement[str]):
    """A text column ordered and compared byte by byte, as SQLite does and as the OCI and
    ECR listings expect (``B`` before ``_`` before ``a``, ``v1-2`` before ``v1.10``),
    whatever collation the PostgreSQL database was created with."""

    type = _String()
    name = "bytewise"
    inherit_cache = True

    def __init__(self, column: Column[Any] | ColumnElement[Any]) -> None:
        super().__init__(column)


@compiles(bytewise)
def _bytewise_default(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(bytewise, "postgresql")
def _bytewise_postgresql(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'
