"""The verified-token cache on its own: bounded, never returns an expired entry."""

from __future__ import annotations

from identity import TokenCache
from tests.fakes import FakeClock


def test_expired_entries_are_never_returned(clock: FakeClock) -> None:
    cache: TokenCache[str] = TokenCache(clock=clock)
    cache.put("t", "v", clock.now + 10)
    assert cache.get("t") == "v"
    clock.advance(10)
    assert cache.get("t") is None
    assert len(cache) == 0
    cache.put("dead", "v", clock.now - 1)  # already expired: not even stored
    assert len(cache) == 0


def test_bounded_size_prefers_dropping_expired_entries(clock: FakeClock) -> None:
    cache: TokenCache[int] = TokenCache(max_entries=3, clock=clock)
    cache.put("old-but-live", 1, clock.now + 100)
    cache.put("short", 2, clock.now + 1)
    cache.put("c", 3, clock.now + 100)
    clock.advance(2)
    cache.put("d", 4, clock.now + 100)  # evicts the expired entry, not the oldest live one
    assert cache.get("old-but-live") == 1
    assert cache.get("d") == 4
    cache.put("e", 5, clock.now + 100)  # full of live entries: the oldest goes
    assert cache.get("old-but-live") is None
    assert len(cache) == 3
