"""What a service keeps as a credential holder, in SQL: its credentials, DCP requests, applications.

Every service that holds credentials of its own (the connector, the
marketplace as a member) keeps the same three tables in its own database:
the credentials it received, stored as received (``raw``: a JWT string or a
JSON credential) with what selection needs (types, issuer, subject, expiry,
the subject claims); the DCP issuance requests it sent (which issuer may
deliver which types for which ``holderPid``); and its membership
applications at a trust anchor (with the status token that reads one, never
shown). The service owns the tables and their migrations; :class:`HolderStore`
holds the queries, one implementation for SQLite and PostgreSQL, over the
tables it is given.

A list-valued field may be a JSON column or a text column holding its JSON
(the connector's): the store encodes and decodes by the column's type.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "CredentialRecord",
    "CredentialRequest",
    "HolderStore",
    "MembershipApplication",
]

#: Requests still waiting for the issuer's answer.
_PENDING = "REQUESTED"


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


RequestT = TypeVar("RequestT", bound=CredentialRequest)


def _encoded(table: sa.Table, values: dict[str, Any], *fields: str) -> dict[str, Any]:
    for name in fields:
        if not isinstance(table.c[name].type, sa.JSON):
            values[name] = orjson.dumps(values[name]).decode()
    return values


def _decoded(table: sa.Table, row: sa.Row[Any], *fields: str) -> dict[str, Any]:
    values = dict(row._mapping)
    for name in fields:
        if not isinstance(table.c[name].type, sa.JSON):
            values[name] = orjson.loads(values[name])
    return values


class HolderStore(Generic[RequestT]):
    """The holder's queries over a service's three tables; each takes the caller's connection.

    ``request_model`` is the service's request record (the connector's adds
    where the issuer keeps the request's status).
    """

    def __init__(self, credentials: sa.Table, requests: sa.Table, applications: sa.Table,
                 request_model: type[RequestT]) -> None:
        self.credentials = credentials
        self.requests = requests
        self.applications = applications
        self.request_model = request_model

    # --- credentials -----------------------------------------------------------------

    def _credential(self, row: sa.Row[Any]) -> CredentialRecord:
        values = _decoded(self.credentials, row, "types", "raw", "claims")
        return CredentialRecord.model_validate(values)

    async def insert_credential(self, conn: AsyncConnection,
                                record: CredentialRecord) -> CredentialRecord:
        """Store ``record``; the same credential (by its id or its bytes) is stored once."""
        existing = await self._find(conn, record.credential_id, record.raw, issuer=record.issuer)
        if existing is not None:
            return existing
        values = _encoded(self.credentials, record.model_dump(), "types", "raw", "claims")
        await conn.execute(sa.insert(self.credentials).values(**values))
        return record

    async def _find(self, conn: AsyncConnection, credential_id: str | None,
                    raw: str | dict[str, Any], *, issuer: str) -> CredentialRecord | None:
        """A stored credential with this VC id; without one, from ``issuer`` with this ``raw``."""
        table = self.credentials
        if credential_id:
            rows = await conn.execute(
                sa.select(table).where(table.c.credential_id == credential_id).limit(1))
            row = rows.first()
            return self._credential(row) if row is not None else None
        # Compared once decoded, so a JSON column and a text column answer alike; an
        # issuer's credentials without an id are few.
        rows = await conn.execute(sa.select(table).where(
            table.c.credential_id.is_(None), table.c.issuer == issuer))
        return next((c for c in map(self._credential, rows) if c.raw == raw), None)

    async def get_credential(self, conn: AsyncConnection,
                             record_id: str) -> CredentialRecord | None:
        """The credential stored as ``record_id``."""
        table = self.credentials
        row = (await conn.execute(sa.select(table).where(table.c.id == record_id))).first()
        return self._credential(row) if row is not None else None

    async def list_credentials(self, conn: AsyncConnection, *,
                               credential_type: str | None = None, limit: int = 500,
                               offset: int = 0) -> list[CredentialRecord]:
        """Our credentials, oldest first (optionally of one type)."""
        table = self.credentials
        query = sa.select(table).order_by(table.c.created_at, table.c.id)
        if credential_type is None:
            rows = (await conn.execute(query.limit(limit).offset(offset))).all()
            return [self._credential(row) for row in rows]
        # Types live in a JSON list; a holder keeps a handful of credentials.
        records = [self._credential(row) for row in await conn.execute(query.limit(10_000))]
        return [r for r in records if credential_type in r.types][offset:offset + limit]

    async def delete_credential(self, conn: AsyncConnection, record_id: str) -> bool:
        """Remove a credential; False if there was none."""
        table = self.credentials
        result = await conn.execute(sa.delete(table).where(table.c.id == record_id))
        return bool(result.rowcount)

    # --- DCP issuance requests -------------------------------------------------------

    def _request(self, row: sa.Row[Any] | None) -> RequestT | None:
        if row is None:
            return None
        return self.request_model.model_validate(
            _decoded(self.requests, row, "credential_types"))

    async def insert_request(self, conn: AsyncConnection, request: RequestT) -> None:
        """Remember a request we sent (or are about to send)."""
        values = _encoded(self.requests, request.model_dump(), "credential_types")
        await conn.execute(sa.insert(self.requests).values(**values))

    async def get_request(self, conn: AsyncConnection, holder_pid: str) -> RequestT | None:
        """Our request ``holder_pid``."""
        table = self.requests
        rows = await conn.execute(sa.select(table).where(table.c.holder_pid == holder_pid))
        return self._request(rows.first())

    async def latest_request(self, conn: AsyncConnection) -> RequestT | None:
        """The request we sent last."""
        table = self.requests
        rows = await conn.execute(sa.select(table).order_by(table.c.created_at.desc()).limit(1))
        return self._request(rows.first())

    async def settle_request(self, conn: AsyncConnection, holder_pid: str, status: str,
                             reason: str | None, at: float) -> bool:
        """Mark a pending request ISSUED, REJECTED or FAILED; False if it was not pending.

        The reason is cut to what its column holds, where the column has a length.
        """
        table = self.requests
        room = getattr(table.c.reason.type, "length", None)
        result = await conn.execute(
            sa.update(table)
            .where(table.c.holder_pid == holder_pid, table.c.status == _PENDING)
            .values(status=status, reason=reason[:room] if reason else None, updated_at=at))
        return bool(result.rowcount)

    # --- membership ------------------------------------------------------------------

    async def insert_application(self, conn: AsyncConnection,
                                 application: MembershipApplication) -> None:
        """Remember an application."""
        await conn.execute(sa.insert(self.applications).values(**application.model_dump()))

    async def latest_application(self, conn: AsyncConnection) -> MembershipApplication | None:
        """Our latest application."""
        table = self.applications
        row = (await conn.execute(
            sa.select(table).order_by(table.c.created_at.desc()).limit(1))).first()
        return MembershipApplication.model_validate(dict(row._mapping)) if row else None

    async def update_application(self, conn: AsyncConnection, application_id: str, *,
                                 status: str, at: float) -> None:
        """Record the status the trust anchor last reported."""
        table = self.applications
        await conn.execute(sa.update(table).where(table.c.id == application_id)
                           .values(status=status, updated_at=at))
