"""The outbox: outbound DSP messages, delivered in order per process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store import _json
from connector.store.tables import outbox
from servicekit.rows import record

__all__ = [
    "OutboxMessage",
    "Outgoing",
    "add_message",
    "earlier_undelivered",
    "get_message",
    "mark_delivered",
    "mark_failed",
    "pending_for",
]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message to send: where, to whom (token audience), and what."""

    id: int
    process_kind: str
    process_id: str
    url: str
    audience: str
    message: dict[str, Any]
    status: str
    last_error: str | None


def _from_row(row: sa.Row[Any]) -> OutboxMessage:
    return record(OutboxMessage, row, message=_json.loads(row.message))


class Outgoing(TypedDict):
    """A message to queue: which process sends it, where, to whom (token audience), what."""

    process_kind: str
    process_id: str
    url: str
    audience: str
    message: dict[str, Any]


async def add_message(conn: AsyncConnection, **outgoing: Unpack[Outgoing]) -> int:
    """Queue ``message`` for ``url``; returns its outbox id."""
    result = await conn.execute(
        outbox.insert()
        .values({**outgoing, "message": _json.dumps(outgoing["message"]),
                 "status": "pending", "created_at": time.time()})
        .returning(outbox.c.id)
    )
    return int(result.scalar_one())


async def get_message(conn: AsyncConnection, message_id: int) -> OutboxMessage | None:
    """The outbox row ``message_id``."""
    row = (await conn.execute(sa.select(outbox).where(outbox.c.id == message_id))).first()
    return _from_row(row) if row is not None else None


async def earlier_undelivered(conn: AsyncConnection, message: OutboxMessage) -> bool:
    """True while an earlier message of the same process is still pending."""
    row = (
        await conn.execute(
            sa.select(outbox.c.id)
            .where(
                outbox.c.process_id == message.process_id,
                outbox.c.status == "pending",
                outbox.c.id < message.id,
            )
            .limit(1)
        )
    ).first()
    return row is not None


async def mark_delivered(conn: AsyncConnection, message_id: int) -> None:
    """Record that the peer acknowledged the message."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == message_id)
        .values(status="delivered", delivered_at=time.time(), last_error=None)
    )


async def mark_failed(conn: AsyncConnection, message_id: int, error: str) -> None:
    """Record that the message will not be delivered."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == message_id)
        .values(status="failed", last_error=error[:2000])
    )


async def pending_for(conn: AsyncConnection, process_id: str) -> list[OutboxMessage]:
    """Undelivered messages of a process, oldest first."""
    rows = (
        await conn.execute(
            sa.select(outbox)
            .where(outbox.c.process_id == process_id, outbox.c.status == "pending")
            .order_by(outbox.c.id)
        )
    ).all()
    return [_from_row(row) for row in rows]
