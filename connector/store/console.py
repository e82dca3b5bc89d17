"""Reads for the owner's console: counts, usage per dataset and day, the audit log.

The usage and audit tables are the data plane's (``dp_usage``, ``dp_audit``,
``dp_flows``), in the same database; they exist only where the enforcing
data plane runs (``signaling = "data-plane"``), and only these reads of the
control plane touch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.dataplane.store.tables import audit, flows, usage
from connector.domain.negotiation import NegotiationState, Role
from connector.store.tables import negotiations, transfers

__all__ = ["AuditFilter", "audit_page", "count_transfers", "count_waiting", "usage_rows"]


async def count_waiting(conn: AsyncConnection) -> int:
    """Contract requests (we are the provider) waiting for the owner's decision."""
    finished = (NegotiationState.FINALIZED.value, NegotiationState.TERMINATED.value)
    query = sa.select(sa.func.count()).select_from(negotiations).where(
        negotiations.c.role == Role.PROVIDER.value, negotiations.c.awaiting == "owner",
        negotiations.c.state.not_in(finished))
    return int((await conn.execute(query)).scalar_one())


async def count_transfers(conn: AsyncConnection, *, states: Sequence[str],
                          role: Role | None = None) -> int:
    """Transfers in one of ``states`` (optionally of one role)."""
    query = sa.select(sa.func.count()).select_from(transfers).where(
        transfers.c.state.in_(list(states)))
    if role is not None:
        query = query.where(transfers.c.role == role.value)
    return int((await conn.execute(query)).scalar_one())


async def usage_rows(conn: AsyncConnection, *, since: float) -> list[tuple[str, float, int, int]]:
    """(dataset id, bucket start, requests, bytes) of every usage bucket from ``since``."""
    query = (
        sa.select(flows.c.dataset_id, usage.c.bucket_start,
                  sa.func.sum(usage.c.requests), sa.func.sum(usage.c.bytes))
        .select_from(usage.join(flows, flows.c.transfer_id == usage.c.transfer_id))
        .where(usage.c.bucket_start >= since)
        .group_by(flows.c.dataset_id, usage.c.bucket_start)
    )
    return [(str(r[0]), float(r[1]), int(r[2] or 0), int(r[3] or 0))
            for r in (await conn.execute(query)).all()]


@dataclass(frozen=True)
class AuditFilter:
    """Which audit records to read (every given one must match)."""

    transfer_id: str | None = None
    agreement_id: str | None = None
    dataset_id: str | None = None
    decision: str | None = None
    since: float | None = None
    until: float | None = None

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """``query`` over ``dp_audit`` (outer-joined to ``dp_flows``) with these conditions."""
        if self.transfer_id is not None:
            query = query.where(audit.c.transfer_id == self.transfer_id)
        if self.agreement_id is not None:
            query = query.where(audit.c.agreement_id == self.agreement_id)
        if self.dataset_id is not None:
            query = query.where(flows.c.dataset_id == self.dataset_id)
        if self.decision is not None:
            query = query.where(audit.c.kind == self.decision)
        if self.since is not None:
            query = query.where(audit.c.at >= self.since)
        if self.until is not None:
            query = query.where(audit.c.at < self.until)
        return query


_AUDIT = sa.select(audit, flows.c.dataset_id).select_from(
    audit.outerjoin(flows, flows.c.transfer_id == audit.c.transfer_id))


async def audit_page(conn: AsyncConnection, where: AuditFilter, *, before: int | None,
                     limit: int) -> list[dict[str, Any]]:
    """Audit records matching ``where``, newest first, with ``seq`` below ``before``."""
    query = where.apply(_AUDIT).order_by(audit.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit.c.seq < before)
    return [row._asdict() for row in (await conn.execute(query)).all()]
