"""The trusted-issuers registry's entries."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.rows import record
from trust_anchor.domain.registry import IssuerRecord
from trust_anchor.store.tables import issuers

__all__ = ["count_issuers", "get_issuer", "list_issuers", "upsert_issuer"]


def _issuer(row: Any) -> IssuerRecord:
    return record(IssuerRecord, row, credential_types=json.loads(row.credential_types))


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
