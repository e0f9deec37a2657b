"""Database URLs as operators write them, and the engines made from them."""

from __future__ import annotations

import pytest

from dockyard.metadata.database import (
    PG_MAX_OVERFLOW,
    PG_POOL_SIZE,
    create_database_engine,
    normalize_url,
    redact,
)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:pw@db:5432/dockyard", "postgresql+psycopg://u:pw@db:5432/dockyard"),
        ("postgres://u:pw@db/dockyard", "postgresql+psycopg://u:pw@db/dockyard"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:////var/lib/dockyard/metadata.db", "sqlite:////var/lib/dockyard/metadata.db"),
    ],
)
def test_libpq_urls_mean_psycopg(given: str, used: str) -> None:
    assert normalize_url(given) == used


def test_postgresql_pools_are_small_and_settable_per_url() -> None:
    engine = create_database_engine("postgresql://u:secret@db.invalid/dockyard?sslmode=disable")
    assert (engine.pool.size(), engine.pool._max_overflow) == (PG_POOL_SIZE, PG_MAX_OVERFLOW)  # type: ignore[attr-defined]
    assert engine.url.query == {"sslmode": "disable"}
    sized = create_database_engine(
        "postgresql://u@db.invalid/dockyard?pool_size=2&max_overflow=0&pool_timeout=5"
    )
    assert (sized.pool.size(), sized.pool._max_overflow, sized.pool._timeout) == (2, 0, 5)  # type: ignore[attr-defined]
    assert not sized.url.query  # the driver never sees Dockyard's own parameters
    with pytest.raises(ValueError, match="pool_size"):
        create_database_engine("postgresql://u@db.invalid/dockyard?pool_size=many")


def test_passwords_stay_out_of_messages() -> None:
    assert "secret" not in redact("postgresql://u:secret@db/dockyard")
    assert redact("postgresql://u:secret@db/dockyard").endswith("@db/dockyard")
