"""Queries on ``resources``: one implementation of TMF630 listing for every TMF resource.

Each function takes the caller's ``AsyncConnection``; the service decides the
transaction. Filters on ``id``, ``version``, ``name``, ``lifecycleStatus``/
``state`` and ``lastUpdate`` use columns; any other attribute is read from the
JSON body (``json_extract`` on SQLite, ``#>>`` on PostgreSQL), compared as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.tmf import Filter, Query
from marketplace.store.tables import resources
from servicekit.errors import Conflict, InvalidRequest

__all__ = [
    "Resource",
    "Scope",
    "delete",
    "find",
    "get",
    "ids_where",
    "insert",
    "replace_body",
    "versions",
]

_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "id": resources.c.id,
    "version": resources.c.version,
    "name": resources.c.name,
    "lifecycleStatus": resources.c.state,
    "state": resources.c.state,
    "status": resources.c.state,
    "lastUpdate": resources.c.last_update,
}


@dataclass(frozen=True)
class Resource:
    """One stored TMF resource (a row of ``resources``)."""

    kind: str
    id: str
    version: str
    state: str
    owner: str
    name: str
    created_at: datetime
    last_update: datetime
    body: dict[str, Any]
    parent: str = ""
    private: bool = False
    current: bool = True


@dataclass(frozen=True)
class Scope:
    """Which rows a caller may see: all (operator), or public ones plus its own."""

    #: The caller's DID; None = the operator (sees everything).
    viewer: str | None = None
    #: Others' rows are seen only in these states (None: any state).
    public_states: frozenset[str] | None = None
    #: Only rows owned by this party.
    owner: str | None = None
    parent: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _row(row: sa.Row[Any]) -> Resource:
    return Resource(kind=row.kind, id=row.id, version=row.version, state=row.state,
                    owner=row.owner, name=row.name, created_at=row.created_at,
                    last_update=row.last_update, body=dict(row.body), parent=row.parent,
                    private=row.private, current=row.current)


def _values(resource: Resource) -> dict[str, Any]:
    return {"kind": resource.kind, "id": resource.id, "version": resource.version,
            "current": resource.current, "state": resource.state, "owner": resource.owner,
            "parent": resource.parent, "name": resource.name[:500], "private": resource.private,
            "created_at": resource.created_at, "last_update": resource.last_update,
            "body": resource.body}


async def insert(conn: AsyncConnection, resource: Resource) -> Resource:
    """Store a new resource (or a new version: the older ones stop being current)."""
    # No savepoint: on SQLite (pysqlite's own transaction handling) releasing a
    # savepoint that opened the transaction commits it. A clash raises, and
    # the caller's transaction is rolled back with it.
    try:
        if resource.current:
            await conn.execute(
                resources.update()
                .where(resources.c.kind == resource.kind, resources.c.id == resource.id)
                .values(current=False))
        await conn.execute(resources.insert().values(_values(resource)))
    except IntegrityError:
        raise Conflict(f"{resource.kind} {resource.id} version {resource.version} exists",
                       code="resource-exists") from None
    return resource


async def get(conn: AsyncConnection, kind: str, resource_id: str,
              version: str | None = None) -> Resource | None:
    """The current version of a resource, or the given ``version``."""
    query = sa.select(resources).where(resources.c.kind == kind, resources.c.id == resource_id)
    query = query.where(resources.c.version == version if version is not None
                        else resources.c.current.is_(True))
    row = (await conn.execute(query)).first()
    return _row(row) if row is not None else None


async def versions(conn: AsyncConnection, kind: str, resource_id: str) -> list[Resource]:
    """Every version of a resource, oldest first."""
    rows = await conn.execute(
        sa.select(resources).where(resources.c.kind == kind, resources.c.id == resource_id)
        .order_by(resources.c.created_at))
    return [_row(r) for r in rows]


async def replace_body(conn: AsyncConnection, resource: Resource, *, expected: datetime,
                       **changes: Any) -> Resource | None:
    """Write ``resource`` with ``changes`` if its ``last_update`` is still ``expected``.

    Returns the new record, or None when someone else changed it first (the
    service answers 409 or retries).
    """
    updated = replace(resource, **changes)
    values = _values(updated)
    for key in ("kind", "id", "version", "created_at"):
        values.pop(key)
    result = await conn.execute(
        resources.update()
        .where(resources.c.kind == resource.kind, resources.c.id == resource.id,
               resources.c.version == resource.version, resources.c.last_update == expected)
        .values(values))
    return updated if result.rowcount == 1 else None


async def ids_where(conn: AsyncConnection, kind: str, path: tuple[str, ...],
                    value: str) -> list[str]:
    """The ids of current resources of ``kind`` whose body has ``value`` at ``path``."""
    rows = await conn.execute(sa.select(resources.c.id).where(
        resources.c.kind == kind, resources.c.current.is_(True),
        _predicate(Filter(path, "eq", (value,)))))
    return [r[0] for r in rows]


async def delete(conn: AsyncConnection, kind: str, resource_id: str) -> bool:
    """Delete every version of a resource; False if there was none."""
    result = await conn.execute(
        resources.delete().where(resources.c.kind == kind, resources.c.id == resource_id))
    return result.rowcount > 0


def _attribute(path: tuple[str, ...]) -> tuple[sa.ColumnElement[Any], bool]:
    """The SQL expression of an attribute, and whether it is a datetime column."""
    if len(path) == 1 and path[0] in _COLUMNS:
        column = _COLUMNS[path[0]]
        return column, path[0] == "lastUpdate"
    element = resources.c.body[path] if len(path) > 1 else resources.c.body[path[0]]
    return element.as_string(), False


def _value(raw: str, is_time: bool) -> Any:
    if not is_time:
        return raw
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{raw!r} is not a date-time", code="filter-invalid") from None


def _predicate(item: Filter) -> sa.ColumnElement[bool]:
    if item.values in (("true",), ("false",)) and item.path[0] not in _COLUMNS:
        # JSON booleans read back as 1/0 on SQLite and true/false on PostgreSQL
        element = resources.c.body[item.path] if len(item.path) > 1 else (
            resources.c.body[item.path[0]])
        flag: sa.ColumnElement[bool] = element.as_boolean() == (item.values[0] == "true")
        return flag if item.operator == "eq" else sa.not_(flag)
    expression, is_time = _attribute(item.path)
    values = [_value(v, is_time) for v in item.values]
    return cast(sa.ColumnElement[bool], _compare(expression, item.operator, values))


def _compare(expression: sa.ColumnElement[Any], operator: str, values: list[Any]) -> Any:
    match operator:
        case "eq":
            return expression.in_(values) if len(values) > 1 else expression == values[0]
        case "ne":
            return expression != values[0]
        case "gt":
            return expression > values[0]
        case "gte":
            return expression >= values[0]
        case "lt":
            return expression < values[0]
        case _:
            return expression <= values[0]


def _scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if scope.owner is not None:
        where.append(resources.c.owner == scope.owner)
    if scope.parent is not None:
        where.append(resources.c.parent == scope.parent)
    if scope.viewer is not None or scope.public_states is not None:
        public: sa.ColumnElement[bool] = resources.c.private.is_(False)
        if scope.public_states is not None:
            public = sa.and_(public, resources.c.state.in_(sorted(scope.public_states)))
        where.append(sa.or_(public, resources.c.owner == scope.viewer)
                     if scope.viewer is not None else public)
    return where


async def find(conn: AsyncConnection, kind: str, query: Query,
               scope: Scope = Scope()) -> tuple[list[Resource], int]:
    """One page of current resources of ``kind`` matching ``query`` in ``scope``, and the total."""
    where: Sequence[sa.ColumnElement[bool]] = [
        resources.c.kind == kind, resources.c.current.is_(True),
        *_scope(scope), *(_predicate(f) for f in query.filters)]
    total = (await conn.execute(
        sa.select(sa.func.count()).select_from(resources).where(*where))).scalar_one()
    order: list[sa.ColumnElement[Any]] = []
    for name, descending in query.sort:
        expression, _ = _attribute((name,))
        order.append(expression.desc() if descending else expression.asc())
    order.extend([resources.c.created_at.desc(), resources.c.id])
    rows = await conn.execute(sa.select(resources).where(*where).order_by(*order)
                              .limit(query.limit).offset(query.offset))
    return [_row(r) for r in rows], int(total)
