"""DCP credential requests: what a holder asked for and where it stands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.errors import NotFound
from servicekit.rows import record
from trust_anchor.store.tables import dcp_requests

__all__ = ["DcpRequest", "get_request", "insert_request", "record_issued", "settle_request"]


@dataclass(frozen=True, slots=True)
class DcpRequest:
    """A holder's request for credential objects."""

    id: str
    holder_pid: str
    holder_did: str
    credential_ids: list[str]
    status: str
    error: str | None
    issued: list[str] | None = None


def _request(row: Any) -> DcpRequest:
    return record(DcpRequest, row, credential_ids=json.loads(row.credential_ids),
                  issued=json.loads(row.issued) if row.issued is not None else None)


async def insert_request(conn: AsyncConnection, request: DcpRequest, at: datetime) -> None:
    """Record a new request (RECEIVED)."""
    await conn.execute(dcp_requests.insert().values(
        id=request.id, holder_pid=request.holder_pid, holder_did=request.holder_did,
        credential_ids=json.dumps(request.credential_ids), status=request.status,
        error=request.error, created_at=at, updated_at=at))


async def get_request(conn: AsyncConnection, request_id: str) -> DcpRequest:
    """The request ``request_id``."""
    row = (await conn.execute(
        sa.select(dcp_requests).where(dcp_requests.c.id == request_id))).first()
    if row is None:
        raise NotFound(f"no credential request {request_id}", code="request-not-found")
    return _request(row)


async def settle_request(conn: AsyncConnection, request_id: str, status: str,
                         error: str | None, at: datetime) -> None:
    """Mark a request ISSUED or REJECTED."""
    await conn.execute(dcp_requests.update().where(dcp_requests.c.id == request_id)
                       .values(status=status, error=error, updated_at=at))


async def record_issued(conn: AsyncConnection, request_id: str, credential_ids: list[str],
                        at: datetime) -> None:
    """Remember which credentials were issued for a request (so a retry reuses them)."""
    await conn.execute(dcp_requests.update().where(dcp_requests.c.id == request_id)
                       .values(issued=json.dumps(credential_ids), updated_at=at))
