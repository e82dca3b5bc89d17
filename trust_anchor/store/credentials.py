"""Issued credentials and the status lists that can revoke or suspend them.

The queries are :class:`identity.status_store.CredentialStore`'s, over the
trust anchor's tables; a credential's owner is the participant it was
issued to (``participant_id``). The operator's overviews (how many of each
type, how full each list is) read the same tables here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.status_store import CredentialStore, IssuedCredential, StatusListRow
from trust_anchor.store.tables import issued_credentials, status_lists

__all__ = [
    "CREDENTIALS",
    "CredentialSlots",
    "IssuedCredential",
    "StatusListRow",
    "StatusListUse",
    "all_status_bits",
    "credential_slots",
    "get_credential",
    "list_status_lists",
]

#: The trust anchor's issued credentials and status lists.
CREDENTIALS = CredentialStore(status_lists, issued_credentials, owner="participant_id")

#: The issued credential with an id (NotFound ``credential-not-found``).
get_credential = CREDENTIALS.get


@dataclass(frozen=True, slots=True)
class CredentialSlots:
    """What the overview of credential types needs of one issued credential."""

    credential_type: str
    valid_until: datetime | None
    revocation_list: str
    revocation_index: int
    suspension_list: str
    suspension_index: int


@dataclass(frozen=True, slots=True)
class StatusListUse:
    """A status list with how many of its indexes were handed out."""

    row: StatusListRow
    allocated: int


async def credential_slots(conn: AsyncConnection) -> list[CredentialSlots]:
    """Every issued credential's type, end of validity and status slots."""
    table = issued_credentials
    rows = (await conn.execute(sa.select(
        table.c.credential_type, table.c.valid_until, table.c.revocation_list,
        table.c.revocation_index, table.c.suspension_list, table.c.suspension_index,
    ))).all()
    return [CredentialSlots(*row) for row in rows]


async def all_status_bits(conn: AsyncConnection) -> dict[str, bytes]:
    """The bits of every status list, by list id."""
    rows = (await conn.execute(sa.select(status_lists.c.id, status_lists.c.bits))).all()
    return {row.id: bytes(row.bits) for row in rows}


async def list_status_lists(
    conn: AsyncConnection, *, after: str | None, limit: int
) -> list[StatusListUse]:
    """Status lists ordered by id, ``after`` an id (keyset paging)."""
    query = sa.select(status_lists).order_by(status_lists.c.id).limit(limit)
    if after:
        query = query.where(status_lists.c.id > after)
    return [
        StatusListUse(StatusListRow(id=r.id, purpose=r.purpose, bits=bytes(r.bits),
                                    version=r.version, updated_at=r.updated_at), r.allocated)
        for r in (await conn.execute(query)).all()
    ]
