"""Replay protection: remember each token id (``jti``) until its token expires.

:class:`ReplayStore` is the interface (the connector plugs a database-backed
one in for several replicas); :class:`InMemoryReplayStore` serves one process.
"""

from __future__ import annotations

import heapq
from typing import Protocol, runtime_checkable

from servicekit.clock import Clock, system_clock
from servicekit.errors import RateLimited

__all__ = ["InMemoryReplayStore", "ReplayStore"]


@runtime_checkable
class ReplayStore(Protocol):
    """Where seen token ids are recorded until they expire."""

    async def check_and_record(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; return False if it was already recorded.

        Must be atomic: of two concurrent calls with one key, one returns False.
        """
        ...


class InMemoryReplayStore:
    """A process-local :class:`ReplayStore` with expiry and a size bound.

    When full of unexpired ids it refuses new tokens (``replay-store-full``,
    HTTP 429) rather than forget an id and allow a replay.
    """

    def __init__(self, *, max_entries: int = 1_000_000, clock: Clock = system_clock) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    async def check_and_record(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; False if seen and not yet expired."""
        current = self._clock()
        self._purge(current)
        known = self._seen.get(key)
        if known is not None and known > current:
            return False
        if len(self._seen) >= self.max_entries:
            raise RateLimited("too many live tokens to remember", code="replay-store-full")
        self._seen[key] = expires_at
        heapq.heappush(self._expiries, (expires_at, key))
        return True

    def _purge(self, current: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= current:
            expires_at, key = heapq.heappop(expiries)
            if self._seen.get(key) == expires_at:
                del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
