"""What the marketplace keeps as a member: its credentials, DCP requests and applications.

Credentials are stored as received (``raw``: a JWT string or a JSON
credential) with what selection needs (types, issuer, subject, expiry, the
subject claims). Issuance requests remember which issuer may deliver which
types for which ``holderPid``. Applications remember where we applied and
the status token that reads the application (never shown).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.store.tables import holder_credentials, holder_requests, membership_applications

__all__ = [
    "CredentialRecord",
    "CredentialRequest",
    "MembershipApplication",
    "credentials",
    "get_request",
    "insert_application",
    "insert_credential",
    "insert_request",
    "latest_application",
    "latest_request",
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
        """What the operator sees (everything but the credential itself)."""
        return self.model_dump(exclude={"raw"})


class CredentialRequest(BaseModel):
    """A DCP issuance request we sent."""

    model_config = ConfigDict(frozen=True)

    holder_pid: str
    issuer_did: str
    credential_types: list[str]
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


async def insert_credential(conn: AsyncConnection, record: CredentialRecord) -> CredentialRecord:
    """Store ``record``; a credential with the same id is stored once."""
    if record.credential_id is not None:
        row = (await conn.execute(sa.select(holder_credentials).where(
            holder_credentials.c.credential_id == record.credential_id))).first()
        if row is not None:
            return CredentialRecord.model_validate(dict(row._mapping))
    await conn.execute(sa.insert(holder_credentials).values(**record.model_dump()))
    return record


async def credentials(conn: AsyncConnection, *, limit: int = 500) -> list[CredentialRecord]:
    """Our credentials, oldest first."""
    rows = (await conn.execute(sa.select(holder_credentials).order_by(
        holder_credentials.c.created_at, holder_credentials.c.id).limit(limit))).all()
    return [CredentialRecord.model_validate(dict(row._mapping)) for row in rows]


# --- DCP issuance requests -----------------------------------------------------------

async def insert_request(conn: AsyncConnection, request: CredentialRequest) -> None:
    """Remember a request we are about to send."""
    await conn.execute(sa.insert(holder_requests).values(**request.model_dump()))


async def get_request(conn: AsyncConnection, holder_pid: str) -> CredentialRequest | None:
    """Our request ``holder_pid``."""
    row = (await conn.execute(sa.select(holder_requests).where(
        holder_requests.c.holder_pid == holder_pid))).first()
    return CredentialRequest.model_validate(dict(row._mapping)) if row is not None else None


async def latest_request(conn: AsyncConnection) -> CredentialRequest | None:
    """The request we sent last."""
    row = (await conn.execute(sa.select(holder_requests).order_by(
        holder_requests.c.created_at.desc()).limit(1))).first()
    return CredentialRequest.model_validate(dict(row._mapping)) if row is not None else None


async def settle_request(conn: AsyncConnection, holder_pid: str, status: str,
                         reason: str | None, at: float) -> bool:
    """Mark a pending request ISSUED, REJECTED or FAILED; False if it was not pending."""
    result = await conn.execute(
        sa.update(holder_requests)
        .where(holder_requests.c.holder_pid == holder_pid,
               holder_requests.c.status == "REQUESTED")
        .values(status=status, reason=reason[:500] if reason else None, updated_at=at))
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
