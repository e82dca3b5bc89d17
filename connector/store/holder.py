"""What the connector keeps as a DCP holder: its credentials, issuance requests, membership.

Credentials are stored as received (``raw``: a JWT string or a JSON
credential, kept as JSON text) with what selection and the owner's list
need (types, issuer, subject, expiry, the subject claims). Issuance
requests remember which issuer may deliver which types for which
``holderPid``. Membership applications remember where we applied and the
status token that reads the application (never shown by the API).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store import _json
from connector.store.tables import (
    credential_requests,
    holder_credentials,
    membership_applications,
)

__all__ = [
    "CredentialRecord",
    "CredentialRequest",
    "MembershipApplication",
    "delete_credential",
    "find_credential",
    "get_credential",
    "get_request",
    "insert_application",
    "insert_credential",
    "insert_request",
    "latest_application",
    "latest_request",
    "list_credentials",
    "set_request_status_url",
    "settle_request",
    "update_application",
]


class CredentialRecord(BaseModel):
    """One of our credentials."""

    model_config = ConfigDict(frozen=True)

    id: str
    credential_id: str | None = None
    types: list[str]
    issuer: str
    subject: str | None = None
    format: str
    raw: str | dict[str, Any] = Field(repr=False)
    claims: dict[str, Any] = Field(default_factory=dict)
    valid_until: float | None = None
    source: str
    created_at: float

    def summary(self) -> dict[str, Any]:
        """What the owner's list shows (everything but the credential itself)."""
        return self.model_dump(exclude={"raw"})


class CredentialRequest(BaseModel):
    """A DCP issuance request we sent."""

    model_config = ConfigDict(frozen=True)

    holder_pid: str
    issuer_did: str
    credential_types: list[str]
    status_url: str
    status: str
    reason: str | None = None
    created_at: float
    updated_at: float


class MembershipApplication(BaseModel):
    """Our application at a trust anchor."""

    model_config = ConfigDict(frozen=True)

    id: str
    trust_anchor_url: str
    trust_anchor_did: str
    status_token: str = Field(repr=False)
    status: str
    created_at: float
    updated_at: float


def _credential(row: sa.Row[Any]) -> CredentialRecord:
    data = dict(row._mapping)
    data["types"] = _json.loads(data["types"])
    data["raw"] = _json.loads(data["raw"])
    data["claims"] = _json.loads(data["claims"])
    return CredentialRecord.model_validate(data)


async def insert_credential(conn: AsyncConnection, record: CredentialRecord) -> CredentialRecord:
    """Store ``record``; the same credential (by its id or its bytes) is stored once."""
    existing = await find_credential(conn, record.credential_id, record.raw)
    if existing is not None:
        return existing
    values = record.model_dump()
    values["types"] = _json.dumps(record.types)
    values["raw"] = _json.dumps(record.raw)
    values["claims"] = _json.dumps(record.claims)
    await conn.execute(sa.insert(holder_credentials).values(**values))
    return record


async def find_credential(conn: AsyncConnection, credential_id: str | None,
                          raw: str | dict[str, Any]) -> CredentialRecord | None:
    """A stored credential with this VC id, or these exact bytes."""
    table = holder_credentials
    condition = table.c.raw == _json.dumps(raw)
    if credential_id:
        condition = sa.or_(condition, table.c.credential_id == credential_id)
    row = (await conn.execute(sa.select(table).where(condition).limit(1))).first()
    return _credential(row) if row is not None else None


async def get_credential(conn: AsyncConnection, record_id: str) -> CredentialRecord | None:
    """The credential stored as ``record_id``."""
    row = (await conn.execute(
        sa.select(holder_credentials).where(holder_credentials.c.id == record_id))).first()
    return _credential(row) if row is not None else None


async def list_credentials(conn: AsyncConnection, *, credential_type: str | None = None,
                           limit: int = 500, offset: int = 0) -> list[CredentialRecord]:
    """Our credentials, oldest first (optionally of one type)."""
    query = sa.select(holder_credentials).order_by(holder_credentials.c.created_at,
                                                    holder_credentials.c.id)
    if credential_type is None:
        rows = (await conn.execute(query.limit(limit).offset(offset))).all()
        return [_credential(row) for row in rows]
    # Types live in a JSON list; a holder keeps a handful of credentials.
    records = [_credential(row) for row in (await conn.execute(query.limit(10_000))).all()]
    return [r for r in records if credential_type in r.types][offset:offset + limit]


async def delete_credential(conn: AsyncConnection, record_id: str) -> bool:
    """Remove a credential; False if there was none."""
    result = await conn.execute(
        sa.delete(holder_credentials).where(holder_credentials.c.id == record_id))
    return bool(result.rowcount)


# --- DCP issuance requests -----------------------------------------------------------

def _request(row: sa.Row[Any]) -> CredentialRequest:
    data = dict(row._mapping)
    data["credential_types"] = _json.loads(data["credential_types"])
    return CredentialRequest.model_validate(data)


async def insert_request(conn: AsyncConnection, request: CredentialRequest) -> None:
    """Remember a request we sent."""
    values = request.model_dump()
    values["credential_types"] = _json.dumps(request.credential_types)
    await conn.execute(sa.insert(credential_requests).values(**values))


async def get_request(conn: AsyncConnection, holder_pid: str) -> CredentialRequest | None:
    """Our request ``holder_pid``."""
    row = (await conn.execute(sa.select(credential_requests).where(
        credential_requests.c.holder_pid == holder_pid))).first()
    return _request(row) if row is not None else None


async def latest_request(conn: AsyncConnection) -> CredentialRequest | None:
    """The request we sent last."""
    row = (await conn.execute(sa.select(credential_requests).order_by(
        credential_requests.c.created_at.desc()).limit(1))).first()
    return _request(row) if row is not None else None


async def set_request_status_url(conn: AsyncConnection, holder_pid: str, url: str) -> None:
    """Where the issuer keeps the request's status."""
    await conn.execute(sa.update(credential_requests)
                       .where(credential_requests.c.holder_pid == holder_pid)
                       .values(status_url=url))


async def settle_request(conn: AsyncConnection, holder_pid: str, status: str,
                         reason: str | None, at: float) -> bool:
    """Mark a pending request ISSUED or REJECTED; False if it was not pending."""
    result = await conn.execute(
        sa.update(credential_requests)
        .where(credential_requests.c.holder_pid == holder_pid,
               credential_requests.c.status == "REQUESTED")
        .values(status=status, reason=reason, updated_at=at))
    return bool(result.rowcount)


# --- membership ----------------------------------------------------------------------

async def insert_application(conn: AsyncConnection, application: MembershipApplication) -> None:
    """Remember an application."""
    await conn.execute(sa.insert(membership_applications).values(**application.model_dump()))


async def latest_application(conn: AsyncConnection) -> MembershipApplication | None:
    """Our latest application."""
    row = (await conn.execute(sa.select(membership_applications).order_by(
        membership_applications.c.created_at.desc()).limit(1))).first()
    return MembershipApplication.model_validate(dict(row._mapping)) if row is not None else None


async def update_application(conn: AsyncConnection, application_id: str, *, status: str,
                             at: float) -> None:
    """Record the status the trust anchor last reported."""
    await conn.execute(
        sa.update(membership_applications)
        .where(membership_applications.c.id == application_id)
        .values(status=status, updated_at=at))
