"""The data-space operator's API keys: the bootstrap key is stored (hashed) and trusted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.auth import ApiKeyVerifier, hash_api_key
from trust_anchor.store.api_keys import add_api_key, api_key_hashes

__all__ = ["operator_keys"]


async def operator_keys(engine: AsyncEngine, admin_key: str, at: datetime) -> ApiKeyVerifier:
    """Store the bootstrap key's hash (once) and trust every stored operator key."""
    async with engine.begin() as conn:
        await add_api_key(conn, hash_api_key(admin_key), "bootstrap", at)
        hashes = await api_key_hashes(conn)
    return ApiKeyVerifier(hashes)
