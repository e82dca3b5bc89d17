"""The job runner: no lost wake-ups; jobs claimed at enqueue time run at once, safely."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.jobs import Job, JobRunner, enqueue


class ClaimRace(JobRunner):
    """Enqueues one more job (and wakes itself) while its first claim is in flight.

    That is what a handler running in parallel does when it queues a follow-up
    message: the race is too narrow to hit reliably from outside, so the test
    places the wake-up exactly inside the claim.
    """

    def __init__(self, engine: AsyncEngine, **kwargs: object) -> None:
        self.handled: list[str] = []

        async def handle(job: Job) -> None:
            self.handled.append(str(job.payload["name"]))

        super().__init__(engine, {"note": handle}, **kwargs)  # type: ignore[arg-type]
        self.engine = engine
        self.claims = 0

    async def _claim(self) -> list[Job]:
        claimed = await super()._claim()
        self.claims += 1
        if self.claims == 1:
            async with self.engine.begin() as conn:
                await enqueue(conn, "note", {"name": "second"})
            self.wake()
        return claimed


async def test_a_wake_during_a_claim_is_not_lost(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await enqueue(conn, "note", {"name": "first"})
    runner = ClaimRace(engine, poll_interval=60.0)
    started = time.monotonic()
    await runner.start()
    try:
        while len(runner.handled) < 2 and time.monotonic() - started < 10:
            await asyncio.sleep(0.01)
    finally:
        await runner.stop()
    assert sorted(runner.handled) == ["first", "second"]
    assert time.monotonic() - started < 10  # a lost wake-up would wait for the 60 s poll


async def test_a_job_claimed_at_enqueue_runs_at_once_and_only_here(engine: AsyncEngine) -> None:
    seen: list[tuple[str, int]] = []

    async def send(job: Job) -> None:
        seen.append((str(job.payload["to"]), job.attempts))

    mine = JobRunner(engine, {"send": send}, poll_interval=60.0)
    other = JobRunner(engine, {"send": send}, poll_interval=60.0)
    async with engine.begin() as conn:
        job = await mine.enqueue_claimed(conn, "send", {"to": "peer"})
    assert await other.run_due() == 0  # leased to ``mine``: nobody else takes it
    mine.run_claimed(job)
    await mine.stop()  # waits for running jobs
    assert seen == [("peer", 1)]
    assert await other.run_due() == 0  # done, not run again


async def test_a_claimed_job_whose_owner_died_is_retried_elsewhere(engine: AsyncEngine) -> None:
    now = [1_000_000.0]
    seen: list[int] = []

    async def send(job: Job) -> None:
        seen.append(job.attempts)

    def clock() -> float:
        return now[0]

    dead = JobRunner(engine, {"send": send}, lease_seconds=15, clock=clock)
    survivor = JobRunner(engine, {"send": send}, lease_seconds=15, clock=clock)
    async with engine.begin() as conn:
        await dead.enqueue_claimed(conn, "send", {"to": "peer"})
    # ``dead`` never runs it (the process died right after the commit).
    assert await survivor.run_due() == 0
    now[0] += 16
    assert await survivor.run_due() == 1
    assert seen == [2]


async def test_a_rolled_back_claimed_job_does_not_exist(engine: AsyncEngine) -> None:
    runner = JobRunner(engine, {}, lease_seconds=0.01)

    async def change_state_and_fail() -> None:
        async with engine.begin() as conn:
            await runner.enqueue_claimed(conn, "send", {"to": "peer"})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await change_state_and_fail()
    await asyncio.sleep(0.05)
    assert await runner.run_due() == 0
