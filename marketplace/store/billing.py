"""Queries on ``charges`` and ``payouts``, each in the caller's connection (its transaction).

A charge is stored once per id (:func:`insert_charge` answers ``Conflict``
on a second one, in a savepoint so the caller's transaction stays usable);
a billing run claims charges with a compare-and-set on ``bill_id IS NULL``
(:func:`claim`), so two runs can never bill the same charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.rating import Charge
from marketplace.store.tables import charges, payouts, resources
from servicekit.db import savepoint
from servicekit.errors import Conflict

__all__ = [
    "StoredCharge",
    "StoredPayout",
    "claim",
    "find_charges",
    "find_payouts",
    "get_charge",
    "get_payout",
    "insert_charge",
    "insert_payout",
    "lock_resource",
    "open_charges",
    "update_payout",
    "used_in_period",
]

_MICRO = Decimal(1_000_000)


@dataclass(frozen=True)
class StoredCharge:
    """A charge and what the store keeps beside it."""

    charge: Charge
    buyer: str
    product: str
    used_at: datetime
    created_at: datetime
    bill_id: str | None
    payout_id: str | None


@dataclass(frozen=True)
class StoredPayout:
    """A payout row."""

    id: str
    provider: str
    state: str
    created_at: datetime
    updated_at: datetime
    body: dict[str, Any]


def _charge(row: sa.Row[Any]) -> StoredCharge:
    return StoredCharge(charge=Charge.model_validate(row.body), buyer=row.buyer,
                        product=row.product, used_at=row.used_at, created_at=row.created_at,
                        bill_id=row.bill_id, payout_id=row.payout_id)


async def lock_resource(conn: AsyncConnection, kind: str, resource_id: str) -> None:
    """Take the write lock on a resource's rows first thing in a transaction.

    A no-op update: PostgreSQL locks the rows until the commit; SQLite takes
    its write lock now, before the transaction reads, so two reports on one
    product are rated one after the other (each sees the other's usage).
    """
    await conn.execute(resources.update()
                       .where(resources.c.kind == kind, resources.c.id == resource_id)
                       .values(current=resources.c.current))


async def insert_charge(conn: AsyncConnection, charge: Charge, *, buyer: str, product: str,
                        period_start: datetime, used_at: datetime, now: datetime) -> None:
    """Store ``charge``; ``Conflict`` (``charge-exists``) if its id or source is stored."""
    values = {
        "id": charge.id, "kind": charge.kind.value, "source": charge.source, "buyer": buyer,
        "provider": charge.provider, "product": product, "currency": charge.currency.value,
        "net_minor": charge.net_minor, "vat_minor": charge.vat_minor,
        "quantity_micro": int(charge.quantity * _MICRO), "period_start": period_start,
        "used_at": used_at, "created_at": now, "body": charge.model_dump(mode="json"),
    }
    try:
        async with savepoint(conn):
            await conn.execute(charges.insert().values(values))
    except IntegrityError:
        raise Conflict(f"charge {charge.id} exists", code="charge-exists") from None


async def used_in_period(conn: AsyncConnection, product: str, period_start: datetime) -> Decimal:
    """Units already charged on ``product`` in the quota period starting at ``period_start``."""
    total = (await conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(charges.c.quantity_micro), 0))
        .where(charges.c.product == product, charges.c.period_start == period_start)
    )).scalar_one()
    return Decimal(int(total)) / _MICRO


async def get_charge(conn: AsyncConnection, charge_id: str) -> StoredCharge | None:
    """One charge by id."""
    row = (await conn.execute(sa.select(charges).where(charges.c.id == charge_id))).first()
    return _charge(row) if row is not None else None


async def find_charges(conn: AsyncConnection, *, buyer: str | None = None,
                       bill_id: str | None = None, product: str | None = None,
                       limit: int = 1000, offset: int = 0) -> tuple[list[StoredCharge], int]:
    """Charges (oldest use first), filtered; and how many match."""
    where: list[sa.ColumnElement[bool]] = []
    if buyer is not None:
        where.append(charges.c.buyer == buyer)
    if bill_id is not None:
        where.append(charges.c.bill_id == bill_id)
    if product is not None:
        where.append(charges.c.product == product)
    total = (await conn.execute(
        sa.select(sa.func.count()).select_from(charges).where(*where))).scalar_one()
    rows = await conn.execute(sa.select(charges).where(*where)
                              .order_by(charges.c.used_at, charges.c.id)
                              .limit(limit).offset(offset))
    return [_charge(r) for r in rows], int(total)


async def open_charges(conn: AsyncConnection, until: datetime) -> list[StoredCharge]:
    """Charges not yet billed whose usage happened before ``until``."""
    rows = await conn.execute(
        sa.select(charges).where(charges.c.bill_id.is_(None), charges.c.used_at < until)
        .order_by(charges.c.buyer, charges.c.used_at, charges.c.id))
    return [_charge(r) for r in rows]


async def claim(conn: AsyncConnection, charge_ids: Sequence[str], *,
                column: Literal["bill_id", "payout_id"], value: str) -> bool:
    """Set ``column`` to ``value`` on charges where it is still unset.

    False when another run claimed one of them first (the caller rolls back).
    """
    target = charges.c[column]
    result = await conn.execute(charges.update()
                                .where(charges.c.id.in_(list(charge_ids)), target.is_(None))
                                .values({column: value}))
    return result.rowcount == len(charge_ids)


def _payout(row: sa.Row[Any]) -> StoredPayout:
    return StoredPayout(id=row.id, provider=row.provider, state=row.state,
                        created_at=row.created_at, updated_at=row.updated_at, body=dict(row.body))


async def insert_payout(conn: AsyncConnection, payout: StoredPayout, currency: str) -> None:
    """Store a new payout."""
    await conn.execute(payouts.insert().values(
        id=payout.id, provider=payout.provider, currency=currency, state=payout.state,
        created_at=payout.created_at, updated_at=payout.updated_at, body=payout.body))


async def get_payout(conn: AsyncConnection, payout_id: str) -> StoredPayout | None:
    """One payout by id."""
    row = (await conn.execute(sa.select(payouts).where(payouts.c.id == payout_id))).first()
    return _payout(row) if row is not None else None


async def find_payouts(conn: AsyncConnection, *, provider: str | None, state: str | None,
                       limit: int, offset: int) -> tuple[list[StoredPayout], int]:
    """Payouts (newest first), for one provider or all; and how many match."""
    where: list[sa.ColumnElement[bool]] = []
    if provider is not None:
        where.append(payouts.c.provider == provider)
    if state is not None:
        where.append(payouts.c.state == state)
    total = (await conn.execute(
        sa.select(sa.func.count()).select_from(payouts).where(*where))).scalar_one()
    rows = await conn.execute(sa.select(payouts).where(*where)
                              .order_by(payouts.c.created_at.desc(), payouts.c.id)
                              .limit(limit).offset(offset))
    return [_payout(r) for r in rows], int(total)


async def update_payout(conn: AsyncConnection, payout: StoredPayout, *, state: str,
                        now: datetime, body: dict[str, Any]) -> bool:
    """Move a payout from its stored state to ``state`` (compare-and-set)."""
    result = await conn.execute(payouts.update()
                                .where(payouts.c.id == payout.id,
                                       payouts.c.state == payout.state)
                                .values(state=state, updated_at=now, body=body))
    return result.rowcount == 1
