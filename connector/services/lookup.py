"""Reading one record or refusing with the service's not-found error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.core import ControlPlane
from servicekit.errors import DataspaceError

__all__ = ["one"]

T = TypeVar("T")


async def one(plane: ControlPlane, read: Callable[[AsyncConnection], Awaitable[T | None]],
              missing: DataspaceError) -> T:
    """What ``read`` finds on a read-only connection, or raise ``missing`` (a 404)."""
    async with plane.read() as conn:
        found = await read(conn)
    if found is None:
        raise missing
    return found
