"""Signed usage receipts providers gave us for our (consumer) transfers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store import _json
from connector.store.tables import receipts

__all__ = ["insert_receipt", "list_receipts"]


async def insert_receipt(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Store one receipt (``content`` as a mapping)."""
    await conn.execute(receipts.insert().values(**values | {
        "content": _json.dumps(values["content"])}))


async def list_receipts(conn: AsyncConnection, *, transfer_id: str | None, limit: int,
                        offset: int, receipt_id: str | None = None) -> list[dict[str, Any]]:
    """Receipts, newest first (optionally of one transfer, or the one ``receipt_id``)."""
    query = sa.select(receipts).order_by(receipts.c.received_at.desc(), receipts.c.id)
    if transfer_id is not None:
        query = query.where(receipts.c.transfer_id == transfer_id)
    if receipt_id is not None:
        query = query.where(receipts.c.id == receipt_id)
    rows = (await conn.execute(query.limit(limit).offset(offset))).all()
    # column keys are str subclasses (quoted_name), which JSON encoders refuse as keys
    return [{str(k): v for k, v in row._mapping.items()} | {"content": _json.loads(row.content)}
            for row in rows]
