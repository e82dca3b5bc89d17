"""Purchase credentials we issued, their status lists, and buyers' DCP requests for them.

The credentials and status lists are :class:`identity.status_store.CredentialStore`'s
queries over our tables (a credential's owner is its order); here are what
only the marketplace keeps: why and when a purchase was revoked, and the DCP
credential requests of the buyers' connectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.status_store import CredentialStore
from marketplace.store.tables import credential_requests, issued_credentials, status_lists
from servicekit.errors import NotFound

__all__ = [
    "PURCHASE_CREDENTIALS",
    "CredentialRequest",
    "get_request",
    "insert_request",
    "mark_revoked",
    "requests_of",
    "revoked",
    "settle_request",
]

#: The purchase credentials we issued, and their status lists.
PURCHASE_CREDENTIALS = CredentialStore(status_lists, issued_credentials, owner="order_id")


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """A buyer's connector asked for what we offered (a DCP ``CredentialRequestMessage``)."""

    id: str
    holder_did: str
    holder_pid: str
    credential_ids: list[str]
    status: str
    error: str | None = None


async def mark_revoked(
    conn: AsyncConnection, credential_id: str, reason: str, at: datetime
) -> bool:
    """Record that ``credential_id`` was revoked; False when it was already."""
    result = await conn.execute(
        issued_credentials.update()
        .where(issued_credentials.c.id == credential_id, issued_credentials.c.revoked_at.is_(None))
        .values(revoked_at=at, revocation_reason=reason)
    )
    return result.rowcount == 1


async def revoked(conn: AsyncConnection, credential_ids: list[str]) -> set[str]:
    """Which of ``credential_ids`` are revoked."""
    rows = await conn.execute(
        sa.select(issued_credentials.c.id).where(
            issued_credentials.c.id.in_(credential_ids),
            issued_credentials.c.revoked_at.is_not(None))
    )
    return {str(r.id) for r in rows}


async def insert_request(conn: AsyncConnection, request: CredentialRequest, at: datetime) -> None:
    """Store a received request."""
    await conn.execute(credential_requests.insert().values(
        id=request.id, holder_did=request.holder_did, holder_pid=request.holder_pid,
        credential_ids=json.dumps(request.credential_ids), status=request.status,
        error=request.error, created_at=at, updated_at=at))


async def get_request(conn: AsyncConnection, request_id: str) -> CredentialRequest:
    """The request ``request_id`` (NotFound ``request-not-found``)."""
    row = (await conn.execute(
        sa.select(credential_requests).where(credential_requests.c.id == request_id)
    )).first()
    if row is None:
        raise NotFound("no such request", code="request-not-found")
    return CredentialRequest(id=row.id, holder_did=row.holder_did, holder_pid=row.holder_pid,
                             credential_ids=list(json.loads(row.credential_ids)),
                             status=row.status, error=row.error)


async def settle_request(
    conn: AsyncConnection, request_id: str, status: str, error: str | None, at: datetime
) -> None:
    """A delivery was made: ISSUED, or REJECTED with ``error``."""
    await conn.execute(
        credential_requests.update().where(credential_requests.c.id == request_id)
        .values(status=status, error=error, updated_at=at))


async def requests_of(conn: AsyncConnection, holder_did: str) -> list[CredentialRequest]:
    """The DCP requests ``holder_did``'s connector sent, oldest first (few per buyer)."""
    rows = await conn.execute(
        sa.select(credential_requests).where(credential_requests.c.holder_did == holder_did)
        .order_by(credential_requests.c.created_at))
    return [CredentialRequest(id=row.id, holder_did=row.holder_did, holder_pid=row.holder_pid,
                              credential_ids=list(json.loads(row.credential_ids)),
                              status=row.status, error=row.error) for row in rows]
