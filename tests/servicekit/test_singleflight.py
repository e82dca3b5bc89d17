"""Concurrent calls for one key share one execution, its result or its error."""

from __future__ import annotations

import asyncio

import pytest

from servicekit.singleflight import SingleFlight


async def test_concurrent_callers_share_one_call() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    tasks = [asyncio.create_task(flights.run("did:web:a", slow)) for _ in range(10)]
    await asyncio.sleep(0)
    assert len(flights) == 1
    release.set()
    assert await asyncio.gather(*tasks) == [42] * 10
    assert calls == 1
    assert len(flights) == 0
    # Once settled, the next call runs again.
    release.set()
    assert await flights.run("did:web:a", slow) == 42
    assert calls == 2


async def test_an_error_reaches_every_waiter_and_other_keys_are_independent() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise ConnectionError("upstream down")

    async def fine() -> int:
        return 7

    waiting = [asyncio.create_task(flights.run("a", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    assert await flights.run("b", fine) == 7
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_cancelled_leader_cancels_its_waiters() -> None:
    flights: SingleFlight[str, int] = SingleFlight()

    async def forever() -> int:
        await asyncio.Event().wait()
        return 0

    leader = asyncio.create_task(flights.run("a", forever))
    await asyncio.sleep(0)
    follower = asyncio.create_task(flights.run("a", forever))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    assert len(flights) == 0
