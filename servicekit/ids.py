"""Identifiers that sort by creation time (for keyset paging) and cannot be guessed."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id"]


def new_id(prefix: str = "") -> str:
    """``prefix`` + 12 hex digits of milliseconds since the epoch + 16 random hex digits.

    Lexical order follows creation order (to the millisecond), so ``id > after``
    pages through records in the order they were made.
    """
    return f"{prefix}{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"
