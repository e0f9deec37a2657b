"""Helpers every metadata module shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    func,
    select,
)

from dockyard.domain.errors import NameUnknown
from dockyard.domain.records import Page, RepositoryKey
from dockyard.metadata.database import reading
from dockyard.metadata.tables import repositories


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """The text begins with ``prefix``, case and all, on every engine (SQLite's LIKE
    ignores the case of ASCII letters, PostgreSQL's does not)."""
    return func.substr(column, 1, len(prefix)) == prefix


def in_repository(key: RepositoryKey) -> ColumnElement[bool]:
    """The condition that a ``repositories`` row is the one ``key`` names."""
    return and_(
        repositories.c.account_id == key.scope.account_id,
        repositories.c.region == key.scope.region,
        repositories.c.name == key.name.value,
    )


def in_repository_param() -> ColumnElement[bool]:
    """``in_repository`` for a statement built once: the key comes in ``key_params``."""
    return and_(
        repositories.c.account_id == bindparam("account_id"),
        repositories.c.region == bindparam("region"),
        repositories.c.name == bindparam("repository"),
    )


def key_params(key: RepositoryKey) -> dict[str, str]:
    """The parameters of ``in_repository_param``."""
    return {
        "account_id": key.scope.account_id,
        "region": key.scope.region,
        "repository": key.name.value,
    }


_REPOSITORY_ID = select(repositories.c.id).where(in_repository_param())


def repository_row(conn: Connection, key: RepositoryKey) -> Row[Any] | None:
    return conn.execute(select(repositories).where(in_repository(key))).first()


def repository_id(conn: Connection, key: RepositoryKey) -> int | None:
    return conn.execute(_REPOSITORY_ID, key_params(key)).scalar()


def require_repository(conn: Connection, key: RepositoryKey) -> int:
    found = repository_id(conn, key)
    if found is None:
        raise NameUnknown(key.name.value, key.scope.account_id)
    return found


def page(engine: Engine, query: Any, limit: int | None) -> Page:
    """Run a query of names ordered by name; ``more`` says whether a next page exists."""
    if limit is not None:
        query = query.limit(limit + 1)
    with reading(engine) as conn:
        names = [str(n) for n in conn.execute(query).scalars()]
    return _cut(names, limit)


# A query of names ordered by name, built once: without a limit, and limited by the
# bound parameter ``limit``.
PageQueries = tuple[Select[Any], Select[Any]]


def page_queries(query: Select[Any]) -> PageQueries:
    """The pair ``bound_page`` runs, made from a query built once."""
    return query, query.limit(bindparam("limit", type_=Integer))


def bound_page(
    engine: Engine, queries: PageQueries, params: dict[str, Any], limit: int | None
) -> Page:
    """``page`` for a query built once, run with ``params``."""
    if limit is None:
        query = queries[0]
    else:
        query, params = queries[1], {**params, "limit": limit + 1}
    with reading(engine) as conn:
        names = [str(n) for n in conn.execute(query, params).scalars()]
    return _cut(names, limit)


def _cut(names: list[str], limit: int | None) -> Page:
    if limit is not None and len(names) > limit:
        return Page(names[:limit], more=True)
    return Page(names, more=False)
