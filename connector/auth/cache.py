"""A bounded cache of verified callers, keyed by the presented credential's hash.

An authenticator whose tokens are reusable and whose verification is
expensive keeps the :class:`Caller` here until the earlier of its own
``expires_at`` and ``max_age``. Keys are SHA-256 digests, so the cache never
holds tokens. The ``dcp`` mode does not use it: every DCP token is
single-use, so :class:`identity.dcp.DcpVerifier` checks each one and caches
the caller's verified credentials instead.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from connector.domain.caller import Caller
from servicekit.clock import Clock, system_clock

__all__ = ["CallerCache"]


class CallerCache:
    """Verified callers by token digest, least recently used out first."""

    def __init__(
        self,
        *,
        max_age: float = 60.0,
        max_entries: int = 10_000,
        clock: Clock = system_clock,
    ) -> None:
        self._max_age = max_age
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, Caller]] = OrderedDict()

    @staticmethod
    def key(token: str) -> bytes:
        """The digest a token is cached under."""
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Caller | None:
        """The cached caller for ``token``, if still fresh."""
        key = self.key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, caller = entry
        if until <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return caller

    def put(self, token: str, caller: Caller) -> None:
        """Remember ``caller`` for ``token``."""
        until = self._clock() + self._max_age
        if caller.expires_at is not None:
            until = min(until, caller.expires_at)
        if until <= self._clock() or self._max_age <= 0:
            return
        key = self.key(token)
        self._entries[key] = (until, caller)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. after a revocation)."""
        self._entries.clear()
