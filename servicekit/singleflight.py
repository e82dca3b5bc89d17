"""One call per key at a time: concurrent callers for the same key share its answer.

A cache miss under load (a DID document, a caller's credentials) should cost
one upstream request, not one per waiting request. :class:`SingleFlight`
runs the first caller's work and hands every concurrent caller for the same
key the same result or exception; a cancelled leader cancels the waiters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Deduplicates concurrent calls by key."""

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: K, call: Callable[[], Awaitable[V]]) -> V:
        """``await call()`` unless a call for ``key`` is running; then share its outcome."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await call()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters get it, nobody else must
            raise
        else:
            future.set_result(result)
        finally:
            del self._inflight[key]
        return result
