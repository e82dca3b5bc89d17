"""Small SQL helpers the data plane needs on both stores."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Writer", "insert_ignore", "lock_row", "upsert_add"]


class Writer:
    """Write transactions on the data plane's store; on SQLite, one process's writers take turns.

    SQLite has one write lock: a writer that finds it taken sleeps in
    SQLite's busy handler, in steps that grow to 100 ms, long after the lock
    is free again. Taking turns in the event loop instead, a counter
    reservation waits for at most the one flush before it. PostgreSQL locks
    rows, so there nobody waits here.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (after this process's earlier writers, on SQLite)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._turns is not None:
                await stack.enter_async_context(self._turns)
            yield await stack.enter_async_context(self.engine.begin())


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
