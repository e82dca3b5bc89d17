"""Queries on ``payment_events``: each provider's event acted on once.

Each function takes the caller's ``AsyncConnection``; the service decides the
transaction (the event is recorded in the one that moves its order).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.store.tables import payment_events

__all__ = ["record_event"]


async def record_event(conn: AsyncConnection, *, provider: str, event_id: str, order_id: str,
                       outcome: str, amount_minor: int, currency: str,
                       received_at: datetime) -> bool:
    """Record an event; False when the provider's ``event_id`` was recorded before (a replay).

    After False the transaction is unusable on PostgreSQL: refuse, and let it roll back.
    """
    try:
        # No savepoint: a replay ends the caller's transaction (it is refused), and on
        # SQLite a savepoint opened before any write would commit on release.
        await conn.execute(payment_events.insert().values(
            provider=provider, event_id=event_id, order_id=order_id, outcome=outcome,
            amount_minor=amount_minor, currency=currency, received_at=received_at))
    except IntegrityError:
        return False
    return True
