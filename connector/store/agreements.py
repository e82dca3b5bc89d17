"""Contract agreements, as provider (we granted them) and as consumer (we hold them)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.negotiation import Role
from connector.store import _json
from connector.store.tables import agreements

__all__ = ["Agreement", "count_live_agreements", "get_agreement", "insert_agreement",
           "list_agreements", "terminate_agreement"]


class Agreement(BaseModel):
    """A stored agreement: the ODRL Agreement as sent, plus who and where.

    ``counterparty_address`` is the provider's DSP base URL on the consumer
    side (where transfer requests go); the provider keeps the consumer's
    callback address there.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    negotiation_id: str | None
    role: Role
    dataset_id: str
    assigner: str
    assignee: str
    policy: dict[str, Any]
    counterparty_id: str
    counterparty_address: str | None
    created_at: float
    terminated_at: float | None = None
    termination_reason: str | None = None


async def insert_agreement(conn: AsyncConnection, agreement: Agreement) -> None:
    """Store ``agreement``; one with its id already stored is kept (messages may repeat)."""
    values = agreement.model_dump()
    values["role"] = agreement.role.value
    values["policy"] = _json.dumps(agreement.policy)
    insert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
        agreements
    )
    await conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["id"]))


def _from_row(row: sa.Row[Any]) -> Agreement:
    data = dict(row._mapping)
    data["policy"] = _json.loads(data["policy"])
    return Agreement.model_validate(data)


async def get_agreement(
    conn: AsyncConnection, agreement_id: str, *, role: Role | None = None
) -> Agreement | None:
    """The agreement ``agreement_id`` (optionally only if we hold it in ``role``)."""
    query = sa.select(agreements).where(agreements.c.id == agreement_id)
    if role is not None:
        query = query.where(agreements.c.role == role.value)
    row = (await conn.execute(query)).first()
    return _from_row(row) if row is not None else None


async def list_agreements(
    conn: AsyncConnection, *, role: Role | None = None, limit: int = 50, offset: int = 0
) -> list[Agreement]:
    """Agreements, newest first."""
    query = sa.select(agreements).order_by(agreements.c.created_at.desc(), agreements.c.id)
    if role is not None:
        query = query.where(agreements.c.role == role.value)
    rows = (await conn.execute(query.limit(limit).offset(offset))).all()
    return [_from_row(row) for row in rows]


async def terminate_agreement(conn: AsyncConnection, agreement_id: str, *, at: float,
                              reason: str | None) -> bool:
    """Mark the agreement terminated; False if there is none that is not terminated yet."""
    result = await conn.execute(
        agreements.update()
        .where(agreements.c.id == agreement_id, agreements.c.terminated_at.is_(None))
        .values(terminated_at=at, termination_reason=reason))
    return bool(result.rowcount)


async def count_live_agreements(conn: AsyncConnection, *, role: Role | None = None) -> int:
    """Agreements not terminated (optionally of one role)."""
    query = sa.select(sa.func.count()).select_from(agreements).where(
        agreements.c.terminated_at.is_(None))
    if role is not None:
        query = query.where(agreements.c.role == role.value)
    return int((await conn.execute(query)).scalar_one())
