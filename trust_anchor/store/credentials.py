"""Issued credentials and the status lists that can revoke or suspend them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.status_list import MIN_LIST_LENGTH, StatusList
from servicekit.errors import NotFound
from servicekit.ids import new_id
from trust_anchor.store.rows import record
from trust_anchor.store.tables import issued_credentials, status_lists

__all__ = [
    "IssuedCredential",
    "StatusListRow",
    "allocate_slot",
    "credentials_of",
    "get_credential",
    "get_status_list",
    "record_credential",
    "set_status",
]

#: Start a new list when a quarter of it is handed out, so a random index is
#: free at the first try three times in four (lists are only 16 KiB).
_FILL_LIMIT = MIN_LIST_LENGTH // 4


@dataclass(frozen=True, slots=True)
class StatusListRow:
    """A status list as stored: its bits and a version that changes with them."""

    id: str
    purpose: str
    bits: bytes
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A credential the trust anchor issued, with its status slots."""

    id: str
    participant_id: str | None
    subject_did: str
    credential_type: str
    token: str
    issued_at: datetime
    valid_until: datetime | None
    revocation_list: str
    revocation_index: int
    suspension_list: str
    suspension_index: int


async def _open_list(conn: AsyncConnection, purpose: str, at: datetime) -> str:
    row = (
        await conn.execute(
            sa.select(status_lists.c.id)
            .where(status_lists.c.purpose == purpose, status_lists.c.allocated < _FILL_LIMIT)
            .order_by(status_lists.c.id)
            .limit(1)
        )
    ).first()
    if row is not None:
        return str(row.id)
    list_id = new_id(f"{purpose[:3]}-")
    await conn.execute(
        status_lists.insert().values(
            id=list_id, purpose=purpose, bits=StatusList().to_bytes(), allocated=0, version=1,
            updated_at=at,
        )
    )
    return list_id


async def allocate_slot(
    conn: AsyncConnection, purpose: str, at: datetime, open_lists: dict[str, str] | None = None
) -> tuple[str, int]:
    """A (list id, index) for ``purpose``, the index chosen at random.

    Random indexes keep a list from revealing the order (and so the
    identity) of the holders it covers, as the Bitstring Status List
    specification advises. The index is only claimed when the credential is
    recorded: the unique slot constraints refuse a collision, and the caller
    draws again. ``open_lists``
    caches the list currently being filled, per purpose, across calls.
    """
    cache = open_lists if open_lists is not None else {}
    for _ in range(3):
        list_id = cache.get(purpose) or await _open_list(conn, purpose, at)
        result = await conn.execute(
            status_lists.update()
            .where(status_lists.c.id == list_id, status_lists.c.allocated < _FILL_LIMIT)
            .values(allocated=status_lists.c.allocated + 1)
        )
        if result.rowcount == 1:
            cache[purpose] = list_id
            return list_id, secrets.randbelow(MIN_LIST_LENGTH)
        cache.pop(purpose, None)  # full (or gone): open another
    raise RuntimeError("could not open a status list")  # pragma: no cover


async def record_credential(conn: AsyncConnection, credential: IssuedCredential) -> bool:
    """Store an issued credential; False when one of its status slots is taken already."""
    statement = issued_credentials.insert().values(
        id=credential.id,
        participant_id=credential.participant_id,
        subject_did=credential.subject_did,
        credential_type=credential.credential_type,
        token=credential.token,
        issued_at=credential.issued_at,
        valid_until=credential.valid_until,
        revocation_list=credential.revocation_list,
        revocation_index=credential.revocation_index,
        suspension_list=credential.suspension_list,
        suspension_index=credential.suspension_index,
    )
    try:
        async with conn.begin_nested():
            await conn.execute(statement)
    except IntegrityError:
        return False
    return True


async def get_credential(conn: AsyncConnection, credential_id: str) -> IssuedCredential:
    """The issued credential ``credential_id``."""
    row = (
        await conn.execute(
            sa.select(issued_credentials).where(issued_credentials.c.id == credential_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no credential {credential_id}", code="credential-not-found")
    return record(IssuedCredential, row)


async def credentials_of(
    conn: AsyncConnection, *, participant_id: str | None = None, subject_did: str | None = None
) -> list[IssuedCredential]:
    """Credentials issued to a participant or a subject DID, oldest first."""
    query = sa.select(issued_credentials).order_by(issued_credentials.c.issued_at)
    if participant_id is not None:
        query = query.where(issued_credentials.c.participant_id == participant_id)
    if subject_did is not None:
        query = query.where(issued_credentials.c.subject_did == subject_did)
    return [record(IssuedCredential, r) for r in (await conn.execute(query)).all()]


async def get_status_list(conn: AsyncConnection, list_id: str) -> StatusListRow:
    """The status list ``list_id``."""
    row = (
        await conn.execute(sa.select(status_lists).where(status_lists.c.id == list_id))
    ).first()
    if row is None:
        raise NotFound(f"no status list {list_id}", code="status-list-not-found")
    return record(StatusListRow, row, bits=bytes(row.bits))


async def set_status(
    conn: AsyncConnection, list_id: str, index: int, value: bool, at: datetime
) -> bool:
    """Set or clear one bit; returns True when the bit changed.

    The list row is locked (PostgreSQL) for the read-modify-write, so
    concurrent revocations on one list do not lose each other's bits.
    """
    row = (
        await conn.execute(
            sa.select(status_lists.c.bits).where(status_lists.c.id == list_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no status list {list_id}", code="status-list-not-found")
    bits = StatusList(data=bytes(row.bits))
    if bits.get(index) == value:
        return False
    bits.set(index, value)
    await conn.execute(
        status_lists.update()
        .where(status_lists.c.id == list_id)
        .values(bits=bits.to_bytes(), version=status_lists.c.version + 1, updated_at=at)
    )
    return True
