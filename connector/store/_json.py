"""JSON columns stored as text."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps", "loads"]


def dumps(value: Any) -> str:
    """Serialise ``value`` for a text column."""
    return orjson.dumps(value).decode()


def loads(text: str | None) -> Any:
    """Parse a text column (``None`` stays ``None``)."""
    if text is None:
        return None
    return orjson.loads(text)
