"""A worker's PostgreSQL connections: kept, reused, and replaced when PostgreSQL closed one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dockyard.metadata import database as db
from tests.support.postgres import PostgresCluster


@pytest.fixture
def engine(postgres: PostgresCluster) -> Iterator[Engine]:
    url = postgres.create_database()
    made = db.create_database_engine(url)
    yield made
    made.dispose()
    postgres.drop_database(url)


def _backend(engine: Engine) -> int:
    with db.reading(engine, single_statement=True) as conn:
        pid: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def _count_pings(engine: Engine) -> list[int]:
    pings = [0]
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings[0] += 1
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_bursts_reuse_the_kept_connections(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL forks a process per connection: one opened for a burst and closed after
    # it, burst after burst, costs more than the requests it serves.
    monkeypatch.setattr(db, "PG_PING_AFTER_IDLE", 30.0)  # a stalled machine is not idleness
    most = db.PG_POOL_SIZE + db.PG_MAX_OVERFLOW
    all_busy, all_back = threading.Barrier(most), threading.Barrier(most)
    seen: set[int] = set()
    lock = threading.Lock()
    pings = _count_pings(engine)

    def client() -> None:
        for _ in range(5):
            with db.reading(engine, single_statement=True) as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                all_busy.wait(timeout=30)  # every connection in use at once
            with lock:
                seen.add(pid)
            all_back.wait(timeout=30)

    threads = [threading.Thread(target=client) for _ in range(most)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == most  # the same ones, burst after burst
    assert pings == [0]  # connections in steady use are not checked before each use


def test_a_connection_postgresql_closed_is_replaced_before_use(
    engine: Engine, postgres: PostgresCluster
) -> None:
    first = _backend(engine)
    postgres.sql(f"SELECT pg_terminate_backend({first})")
    time.sleep(db.PG_PING_AFTER_IDLE + 0.2)
    second = _backend(engine)  # would fail on the closed connection without the check
    assert second != first
