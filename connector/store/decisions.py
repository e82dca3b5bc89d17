"""The owner's decisions on contract requests: who approved or rejected, and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store.tables import negotiation_decisions

__all__ = ["decisions_for", "record_decision"]


async def record_decision(conn: AsyncConnection, negotiation_id: str, *, decision: str,
                          approver: str | None, reason: str | None, at: float) -> None:
    """Store the owner's decision on ``negotiation_id``; a later one replaces it."""
    await conn.execute(negotiation_decisions.delete().where(
        negotiation_decisions.c.negotiation_id == negotiation_id))
    await conn.execute(negotiation_decisions.insert().values(
        negotiation_id=negotiation_id, decision=decision, approver=approver, reason=reason,
        decided_at=at))


async def decisions_for(conn: AsyncConnection,
                        negotiation_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The decision on each of ``negotiation_ids`` that has one."""
    if not negotiation_ids:
        return {}
    rows = (await conn.execute(sa.select(negotiation_decisions).where(
        negotiation_decisions.c.negotiation_id.in_(sorted(set(negotiation_ids)))))).all()
    return {row.negotiation_id: {"decision": row.decision, "approver": row.approver,
                                 "reason": row.reason, "decided_at": row.decided_at}
            for row in rows}
