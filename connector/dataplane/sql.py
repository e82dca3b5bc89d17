"""Small SQL helpers the data plane needs on both stores."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["insert_ignore", "lock_row", "upsert_add"]


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def insert_ignore(conn: AsyncConnection, table: sa.Table, values: dict[str, Any]) -> None:
    """Insert ``values`` unless a row with the same primary key exists."""
    await conn.execute(_insert(conn, table).values(**values).on_conflict_do_nothing())


async def upsert_add(
    conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]], *, add: tuple[str, ...]
) -> None:
    """Insert ``rows``; where the primary key exists, add the ``add`` columns instead."""
    if not rows:
        return
    statement = _insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + statement.excluded[name] for name in add},
    )
    await conn.execute(statement, rows)


async def lock_row(conn: AsyncConnection, table: sa.Table, row_id: int) -> None:
    """Take the write lock on ``table`` row ``row_id`` until the transaction ends.

    A no-op UPDATE locks the row on PostgreSQL and makes the SQLite transaction
    a write transaction at once (so two writers queue instead of failing later).
    """
    await conn.execute(
        table.update().where(table.c.id == row_id).values(id=table.c.id)
    )
