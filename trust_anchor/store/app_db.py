"""How handlers reach the engine (in the app or a sub-app)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.app import DB_ENGINE

__all__ = ["engine_of"]


def engine_of(request: web.Request) -> AsyncEngine:
    """The database engine of the application serving ``request``."""
    return request.config_dict[DB_ENGINE]
