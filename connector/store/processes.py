"""Negotiation and transfer rows: insert, read, compare-and-set update, list.

Updates are conditional on the row's ``version`` (which they bump), so a
transition decided on a stale read fails with :class:`StaleProcess` instead
of overwriting a concurrent one; callers re-read and decide again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.negotiation import Negotiation, Role
from connector.domain.transfer import Transfer
from connector.store import _json
from connector.store.tables import negotiations, transfers
from servicekit.errors import Conflict

__all__ = [
    "NEGOTIATION_ROWS",
    "TRANSFER_ROWS",
    "Rows",
    "StaleProcess",
]

_JSON_FIELDS = {"offer", "caller", "data_address", "standing"}


class StaleProcess(Conflict, code="process-changed-concurrently",
                   title="Process changed concurrently"):
    """The process changed since it was read (another request or replica moved it)."""


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in _JSON_FIELDS and value is not None:
            value = _json.dumps(value)
        elif hasattr(value, "value") and key in ("role", "state"):
            value = value.value
        out[key] = value
    return out


def _decode(row: sa.Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in _JSON_FIELDS & data.keys():
        data[key] = _json.loads(data[key])
    return data


P = TypeVar("P", Negotiation, Transfer)


class Rows(Generic[P]):
    """The rows of one process kind: insert, get, compare-and-set update, list."""

    def __init__(self, table: sa.Table, model: type[P], kind: str) -> None:
        self.table = table
        self.model: type[P] = model
        self.kind = kind

    async def insert(self, conn: AsyncConnection, process: P) -> None:
        """Store a new process."""
        await conn.execute(self.table.insert().values(**_encode(process.model_dump())))

    async def get(self, conn: AsyncConnection, process_id: str, *,
                  role: Role | None = None) -> P | None:
        """The process with our process id ``process_id`` (optionally of one role)."""
        query = sa.select(self.table).where(self.table.c.id == process_id)
        if role is not None:
            query = query.where(self.table.c.role == role.value)
        row = (await conn.execute(query)).first()
        return self.model.model_validate(_decode(row)) if row is not None else None

    async def update(self, conn: AsyncConnection, current: P, **changes: Any) -> P:
        """Apply ``changes`` if the row is still at ``current.version``; returns the new record."""
        now = time.time()
        values = _encode(changes) | {"updated_at": now, "version": current.version + 1}
        result = await conn.execute(
            self.table.update()
            .where(self.table.c.id == current.id, self.table.c.version == current.version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise StaleProcess(f"{self.kind} {current.id} changed concurrently")
        return current.model_copy(
            update=changes | {"updated_at": now, "version": current.version + 1})

    async def list(
        self,
        conn: AsyncConnection,
        *,
        role: Role | None = None,
        states: Sequence[str] = (),
        limit: int = 50,
        offset: int = 0,
        **equal: str | None,
    ) -> list[P]:
        """Processes, newest first, filtered by role, states and columns equal to a value."""
        table = self.table
        query = sa.select(table).order_by(table.c.created_at.desc(), table.c.id)
        if role is not None:
            query = query.where(table.c.role == role.value)
        if states:
            query = query.where(table.c.state.in_(list(states)))
        for column, value in equal.items():
            if value is not None:
                query = query.where(table.c[column] == value)
        rows = (await conn.execute(query.limit(limit).offset(offset))).all()
        return [self.model.model_validate(_decode(row)) for row in rows]


NEGOTIATION_ROWS: Rows[Negotiation] = Rows(negotiations, Negotiation, "negotiation")
TRANSFER_ROWS: Rows[Transfer] = Rows(transfers, Transfer, "transfer")
