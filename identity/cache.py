"""The verified-token cache: a token seen before costs a dictionary look-up.

Entries are keyed by the token string and carry their own expiry (never past
the token's or credential's own); an expired entry is never returned. The
cache is bounded: when full, expired entries go first, then the oldest.
Self-issued tokens still pass the replay check on a hit (see
:mod:`identity.self_issued`).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from servicekit.clock import Clock, system_clock

__all__ = ["TokenCache"]

T = TypeVar("T")


class TokenCache(Generic[T]):
    """A bounded map from token string to its verification result, with expiry."""

    __slots__ = ("_clock", "_entries", "hits", "max_entries", "misses")

    def __init__(self, *, max_entries: int = 10_000, clock: Clock = system_clock) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, token: str) -> T | None:
        """The cached result for ``token``, or ``None`` if absent or expired."""
        entry = self._entries.get(token)
        if entry is not None:
            if entry[0] > self._clock():
                self.hits += 1
                return entry[1]
            del self._entries[token]
        self.misses += 1
        return None

    def put(self, token: str, value: T, expires_at: float) -> None:
        """Keep ``value`` for ``token`` until ``expires_at`` (epoch seconds)."""
        current = self._clock()
        if expires_at <= current:
            return
        entries = self._entries
        if token not in entries and len(entries) >= self.max_entries:
            for key in [k for k, (exp, _) in entries.items() if exp <= current]:
                del entries[key]
            while len(entries) >= self.max_entries:
                del entries[next(iter(entries))]
        entries[token] = (expires_at, value)

    def discard(self, token: str) -> None:
        """Forget ``token``."""
        self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)}, max_entries={self.max_entries})"
