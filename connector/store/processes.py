"""Negotiation and transfer rows: insert, read, compare-and-set update, list.

Updates are conditional on the row's ``version`` (which they bump), so a
transition decided on a stale read fails with :class:`StaleProcess` instead
of overwriting a concurrent one; callers re-read and decide again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.negotiation import Negotiation, Role
from connector.domain.transfer import Transfer
from connector.store import _json
from connector.store.tables import negotiations, transfers
from servicekit.errors import Conflict

__all__ = [
    "StaleProcess",
    "get_negotiation",
    "get_transfer",
    "insert_negotiation",
    "insert_transfer",
    "list_negotiations",
    "list_transfers",
    "update_negotiation",
    "update_transfer",
]

_JSON_FIELDS = {"offer", "caller", "data_address", "standing"}


class StaleProcess(Conflict):
    """The process changed since it was read (another request or replica moved it)."""

    default_code = "process-changed-concurrently"
    title = "Process changed concurrently"


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


async def insert_negotiation(conn: AsyncConnection, negotiation: Negotiation) -> None:
    """Store a new negotiation."""
    await conn.execute(negotiations.insert().values(**_encode(negotiation.model_dump())))


async def get_negotiation(
    conn: AsyncConnection, negotiation_id: str, *, role: Role | None = None
) -> Negotiation | None:
    """The negotiation with our process id ``negotiation_id`` (optionally of one role)."""
    query = sa.select(negotiations).where(negotiations.c.id == negotiation_id)
    if role is not None:
        query = query.where(negotiations.c.role == role.value)
    row = (await conn.execute(query)).first()
    return Negotiation.model_validate(_decode(row)) if row is not None else None


async def update_negotiation(
    conn: AsyncConnection, current: Negotiation, **changes: Any
) -> Negotiation:
    """Apply ``changes`` if the row is still at ``current.version``; returns the new record."""
    now = time.time()
    values = _encode(changes) | {"updated_at": now, "version": current.version + 1}
    result = await conn.execute(
        negotiations.update()
        .where(negotiations.c.id == current.id, negotiations.c.version == current.version)
        .values(**values)
    )
    if result.rowcount != 1:
        raise StaleProcess(f"negotiation {current.id} changed concurrently")
    return current.model_copy(update=changes | {"updated_at": now, "version": current.version + 1})


async def list_negotiations(
    conn: AsyncConnection,
    *,
    role: Role | None = None,
    states: Sequence[str] = (),
    awaiting: str | None = None,
    consumer_pid: str | None = None,
    counterparty_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Negotiation]:
    """Negotiations, newest first, filtered by role, states and whose move it is."""
    query = sa.select(negotiations).order_by(
        negotiations.c.created_at.desc(), negotiations.c.id
    )
    if role is not None:
        query = query.where(negotiations.c.role == role.value)
    if states:
        query = query.where(negotiations.c.state.in_(list(states)))
    if awaiting is not None:
        query = query.where(negotiations.c.awaiting == awaiting)
    if consumer_pid is not None:
        query = query.where(negotiations.c.consumer_pid == consumer_pid)
    if counterparty_id is not None:
        query = query.where(negotiations.c.counterparty_id == counterparty_id)
    rows = (await conn.execute(query.limit(limit).offset(offset))).all()
    return [Negotiation.model_validate(_decode(row)) for row in rows]


async def insert_transfer(conn: AsyncConnection, transfer: Transfer) -> None:
    """Store a new transfer process."""
    await conn.execute(transfers.insert().values(**_encode(transfer.model_dump())))


async def get_transfer(
    conn: AsyncConnection, transfer_id: str, *, role: Role | None = None
) -> Transfer | None:
    """The transfer with our process id ``transfer_id`` (optionally of one role)."""
    query = sa.select(transfers).where(transfers.c.id == transfer_id)
    if role is not None:
        query = query.where(transfers.c.role == role.value)
    row = (await conn.execute(query)).first()
    return Transfer.model_validate(_decode(row)) if row is not None else None


async def update_transfer(conn: AsyncConnection, current: Transfer, **changes: Any) -> Transfer:
    """Apply ``changes`` if the row is still at ``current.version``; returns the new record."""
    now = time.time()
    values = _encode(changes) | {"updated_at": now, "version": current.version + 1}
    result = await conn.execute(
        transfers.update()
        .where(transfers.c.id == current.id, transfers.c.version == current.version)
        .values(**values)
    )
    if result.rowcount != 1:
        raise StaleProcess(f"transfer {current.id} changed concurrently")
    return current.model_copy(update=changes | {"updated_at": now, "version": current.version + 1})


async def list_transfers(
    conn: AsyncConnection,
    *,
    role: Role | None = None,
    states: Sequence[str] = (),
    agreement_id: str | None = None,
    consumer_pid: str | None = None,
    counterparty_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Transfer]:
    """Transfers, newest first."""
    query = sa.select(transfers).order_by(transfers.c.created_at.desc(), transfers.c.id)
    if role is not None:
        query = query.where(transfers.c.role == role.value)
    if states:
        query = query.where(transfers.c.state.in_(list(states)))
    if agreement_id is not None:
        query = query.where(transfers.c.agreement_id == agreement_id)
    if consumer_pid is not None:
        query = query.where(transfers.c.consumer_pid == consumer_pid)
    if counterparty_id is not None:
        query = query.where(transfers.c.counterparty_id == counterparty_id)
    rows = (await conn.execute(query.limit(limit).offset(offset))).all()
    return [Transfer.model_validate(_decode(row)) for row in rows]
