"""The trusted-issuers registry and the operator's API keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from trust_anchor.store.tables import api_keys, issuers

__all__ = [
    "IssuerRecord",
    "add_api_key",
    "api_key_hashes",
    "count_issuers",
    "get_issuer",
    "list_issuers",
    "upsert_issuer",
]


@dataclass(frozen=True, slots=True)
class IssuerRecord:
    """One issuer in the registry."""

    did: str
    issuer_type: str
    tao: str
    root_tao: str
    credential_types: list[str]
    accreditation: str
    created_at: datetime
    updated_at: datetime


def _issuer(row: Any) -> IssuerRecord:
    return IssuerRecord(
        did=row.did,
        issuer_type=row.issuer_type,
        tao=row.tao,
        root_tao=row.root_tao,
        credential_types=json.loads(row.credential_types),
        accreditation=row.accreditation,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def upsert_issuer(conn: AsyncConnection, record: IssuerRecord) -> None:
    """Insert or replace the registry entry of ``record.did``."""
    values = {
        "issuer_type": record.issuer_type,
        "tao": record.tao,
        "root_tao": record.root_tao,
        "credential_types": json.dumps(record.credential_types),
        "accreditation": record.accreditation,
        "updated_at": record.updated_at,
    }
    result = await conn.execute(
        issuers.update().where(issuers.c.did == record.did).values(**values)
    )
    if result.rowcount == 0:
        await conn.execute(
            issuers.insert().values(did=record.did, created_at=record.created_at, **values)
        )


async def get_issuer(conn: AsyncConnection, did: str) -> IssuerRecord | None:
    """The registry entry of ``did``, if any."""
    row = (await conn.execute(sa.select(issuers).where(issuers.c.did == did))).first()
    return _issuer(row) if row is not None else None


async def list_issuers(
    conn: AsyncConnection, *, after: str | None, limit: int
) -> list[IssuerRecord]:
    """Issuers ordered by DID, those after ``after`` (keyset paging)."""
    query = sa.select(issuers).order_by(issuers.c.did).limit(limit)
    if after is not None:
        query = query.where(issuers.c.did > after)
    return [_issuer(r) for r in (await conn.execute(query)).all()]


async def count_issuers(conn: AsyncConnection) -> int:
    """How many issuers the registry lists."""
    return int((await conn.execute(sa.select(sa.func.count()).select_from(issuers))).scalar() or 0)


async def add_api_key(conn: AsyncConnection, key_hash: str, name: str, at: datetime) -> None:
    """Store an operator API key's hash (idempotent)."""
    exists = (
        await conn.execute(sa.select(api_keys.c.hash).where(api_keys.c.hash == key_hash))
    ).first()
    if exists is None:
        await conn.execute(api_keys.insert().values(hash=key_hash, name=name, created_at=at))


async def api_key_hashes(conn: AsyncConnection) -> list[str]:
    """Every stored operator key hash."""
    return [str(r) for r in (await conn.execute(sa.select(api_keys.c.hash))).scalars()]
