"""The operator's API keys (their hashes)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from trust_anchor.store.tables import api_keys

__all__ = ["add_api_key", "api_key_hashes"]


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
