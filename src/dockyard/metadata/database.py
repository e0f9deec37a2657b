"""Engines and transactions.

SQLite runs in WAL mode so readers never wait for the writer; write
transactions take the write lock up front (``BEGIN IMMEDIATE``) so two writers
never deadlock upgrading a read lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event


def create_database_engine(url: str) -> Engine:
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
    return create_engine(url, pool_size=16, max_overflow=32, pool_pre_ping=True)


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


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def reading(engine: Engine, single_statement: bool = False) -> Iterator[Connection]:
    """A read transaction; ``single_statement`` for a read of one statement, which needs
    no snapshot across statements (SQLite then runs it without BEGIN/COMMIT)."""
    connection = engine.connect()
    if single_statement:
        connection = connection.execution_options(single_statement=True)
    with connection, connection.begin():
        yield connection


def reads_are_local(engine: Engine) -> bool:
    """Whether a short read costs less than handing it to a thread: SQLite reads a local
    file in tens of microseconds, and in WAL mode never waits for a writer."""
    return _is_sqlite(engine)
