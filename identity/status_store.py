"""Issued credentials and the Bitstring status lists that revoke or suspend them, in SQL.

Every issuing service (the trust anchor for memberships, the marketplace for
purchases) keeps the same two tables in its own database: the status lists
(their bits and a version that changes with them) and the credentials it
issued, each with a revocation and a suspension slot. The service owns the
tables and their migrations; :class:`CredentialStore` holds the queries, one
implementation for SQLite and PostgreSQL, over the tables it is given.

A credential may belong to a record of the issuing service (the trust
anchor's participant, the marketplace's order): the *owner* column, named
when the store is built.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.status_list import MIN_LIST_LENGTH, StatusList
from servicekit.db import savepoint
from servicekit.errors import NotFound
from servicekit.ids import new_id
from servicekit.types import UtcDateTime

__all__ = [
    "CredentialStore",
    "IssuedCredential",
    "StatusListRow",
    "issued_credential_columns",
    "status_list_columns",
]

#: Start a new list when a quarter of it is handed out, so a random index is
#: free at the first try three times in four (lists are only 16 KiB).
_FILL_LIMIT = MIN_LIST_LENGTH // 4


def status_list_columns() -> list[sa.schema.SchemaItem]:
    """``status_lists``: the lists' bits and versions (frozen: a migration builds from it)."""
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("bits", sa.LargeBinary, nullable=False),
        sa.Column("allocated", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def issued_credential_columns(
    *extra: sa.Column[Any], name: str = "issued_credentials", slot_prefix: str | None = None
) -> list[sa.schema.SchemaItem]:
    """``issued_credentials`` (as table ``name``), with the service's ``extra`` columns (its owner).

    The slots' unique constraints are named ``<slot_prefix>revocation_slot``
    (by default ``ux_<name>_``). Frozen, like the service's own
    ``*_columns()``: a migration builds from it.
    """
    prefix = f"ux_{name}_" if slot_prefix is None else slot_prefix
    return [
        sa.Column("id", sa.String(100), primary_key=True),
        *extra,
        sa.Column("subject_did", sa.String(500), nullable=False, index=True),
        sa.Column("credential_type", sa.String(100), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("revocation_list", sa.String(64), nullable=False),
        sa.Column("revocation_index", sa.Integer, nullable=False),
        sa.Column("suspension_list", sa.String(64), nullable=False),
        sa.Column("suspension_index", sa.Integer, nullable=False),
        sa.UniqueConstraint("revocation_list", "revocation_index",
                            name=f"{prefix}revocation_slot"),
        sa.UniqueConstraint("suspension_list", "suspension_index",
                            name=f"{prefix}suspension_slot"),
    ]


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
    """A credential a service issued, with its status slots (``owner``: its record, if any)."""

    id: str
    subject_did: str
    credential_type: str
    token: str
    issued_at: datetime
    valid_until: datetime | None
    revocation_list: str
    revocation_index: int
    suspension_list: str
    suspension_index: int
    owner: str | None = None

    def slot(self, purpose: str) -> tuple[str, int]:
        """The (list id, index) of this credential's ``revocation`` or ``suspension`` entry."""
        if purpose == "revocation":
            return self.revocation_list, self.revocation_index
        return self.suspension_list, self.suspension_index


_FIELDS = tuple(f for f in IssuedCredential.__dataclass_fields__ if f != "owner")


@dataclass(frozen=True)
class CredentialStore:
    """The queries over one service's ``lists`` and ``credentials`` tables.

    ``owner`` names the column of ``credentials`` that links a credential
    to the service's own record (None: there is none).
    """

    lists: sa.Table
    credentials: sa.Table
    owner: str | None = None

    def _issued(self, row: Any) -> IssuedCredential:
        values: Mapping[str, Any] = row._mapping
        owner = values[self.owner] if self.owner is not None else None
        return IssuedCredential(**{f: values[f] for f in _FIELDS}, owner=owner)

    async def _open_list(self, conn: AsyncConnection, purpose: str, at: datetime) -> str:
        lists = self.lists
        row = (await conn.execute(
            sa.select(lists.c.id)
            .where(lists.c.purpose == purpose, lists.c.allocated < _FILL_LIMIT)
            .order_by(lists.c.id)
            .limit(1)
        )).first()
        if row is not None:
            return str(row.id)
        list_id = new_id(f"{purpose[:3]}-")
        await conn.execute(lists.insert().values(
            id=list_id, purpose=purpose, bits=StatusList().to_bytes(), allocated=0, version=1,
            updated_at=at))
        return list_id

    async def allocate_slot(
        self, conn: AsyncConnection, purpose: str, at: datetime,
        open_lists: dict[str, str] | None = None,
    ) -> tuple[str, int]:
        """A (list id, index) for ``purpose``, the index chosen at random.

        Random indexes keep a list from revealing the order (and so the
        identity) of the holders it covers, as the Bitstring Status List
        specification advises. The index is only claimed when the credential
        is recorded: the unique slot constraints refuse a collision, and the
        caller draws again. ``open_lists`` caches the list currently being
        filled, per purpose, across calls.
        """
        cache = open_lists if open_lists is not None else {}
        lists = self.lists
        for _ in range(3):
            list_id = cache.get(purpose) or await self._open_list(conn, purpose, at)
            result = await conn.execute(
                lists.update()
                .where(lists.c.id == list_id, lists.c.allocated < _FILL_LIMIT)
                .values(allocated=lists.c.allocated + 1)
            )
            if result.rowcount == 1:
                cache[purpose] = list_id
                return list_id, secrets.randbelow(MIN_LIST_LENGTH)
            cache.pop(purpose, None)  # full (or gone): open another
        raise RuntimeError("could not open a status list")  # pragma: no cover

    async def record(self, conn: AsyncConnection, credential: IssuedCredential) -> bool:
        """Store an issued credential; False when one of its status slots is taken already."""
        values = {f: getattr(credential, f) for f in _FIELDS}
        if self.owner is not None:
            values[self.owner] = credential.owner
        try:
            async with savepoint(conn):
                await conn.execute(self.credentials.insert().values(**values))
        except IntegrityError:
            return False
        return True

    async def get(self, conn: AsyncConnection, credential_id: str) -> IssuedCredential:
        """The issued credential ``credential_id`` (NotFound ``credential-not-found``)."""
        table = self.credentials
        row = (await conn.execute(sa.select(table).where(table.c.id == credential_id))).first()
        if row is None:
            raise NotFound(f"no credential {credential_id}", code="credential-not-found")
        return self._issued(row)

    async def find(
        self, conn: AsyncConnection, *, owner: str | None = None, subject_did: str | None = None
    ) -> list[IssuedCredential]:
        """Credentials of an owner record or a subject DID, oldest first."""
        table = self.credentials
        query = sa.select(table).order_by(table.c.issued_at, table.c.id)
        if owner is not None:
            if self.owner is None:
                raise ValueError("this store has no owner column")
            query = query.where(table.c[self.owner] == owner)
        if subject_did is not None:
            query = query.where(table.c.subject_did == subject_did)
        return [self._issued(r) for r in (await conn.execute(query)).all()]

    async def status_list(self, conn: AsyncConnection, list_id: str) -> StatusListRow:
        """The status list ``list_id`` (NotFound ``status-list-not-found``)."""
        lists = self.lists
        row = (await conn.execute(sa.select(lists).where(lists.c.id == list_id))).first()
        if row is None:
            raise NotFound(f"no status list {list_id}", code="status-list-not-found")
        return StatusListRow(id=row.id, purpose=row.purpose, bits=bytes(row.bits),
                             version=row.version, updated_at=row.updated_at)

    async def set_status(
        self, conn: AsyncConnection, list_id: str, index: int, value: bool, at: datetime
    ) -> bool:
        """Set or clear one bit; returns True when the bit changed.

        The list row is locked (PostgreSQL) for the read-modify-write, so
        concurrent revocations on one list do not lose each other's bits.
        """
        lists = self.lists
        row = (await conn.execute(
            sa.select(lists.c.bits).where(lists.c.id == list_id).with_for_update()
        )).first()
        if row is None:
            raise NotFound(f"no status list {list_id}", code="status-list-not-found")
        bits = StatusList(data=bytes(row.bits))
        if bits.get(index) == value:
            return False
        bits.set(index, value)
        await conn.execute(
            lists.update()
            .where(lists.c.id == list_id)
            .values(bits=bits.to_bytes(), version=lists.c.version + 1, updated_at=at)
        )
        return True
