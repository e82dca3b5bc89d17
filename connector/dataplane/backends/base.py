"""What every backend gives the byte path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["BackendBroken", "Source", "SourceRequest", "flag"]


class BackendBroken(Exception):
    """The backend failed after the response had started (the response is cut short)."""


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """The parts of a data request a backend may use."""

    method: str = "GET"
    path: str = ""
    query: str = ""
    accept: str | None = None


@dataclass(slots=True)
class Source:
    """An opened backend response: status, headers, and its body as chunks."""

    status: int
    headers: dict[str, str]
    content_length: int | None
    chunks: Callable[[], AsyncIterator[bytes]]
    body: bytes | None = None
    """The whole body when the backend answered with a small one (sent in one write)."""
    close: Callable[[], Awaitable[None]] = field(default=lambda: _nothing())


async def _nothing() -> None:
    return None


def flag(properties: dict[str, str], name: str) -> bool:
    """A boolean backend property (``"true"``)."""
    return properties.get(name, "").strip().lower() in ("true", "1", "yes")
