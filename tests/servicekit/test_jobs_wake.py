"""The job runner never loses a wake-up that arrives while it is claiming jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit import jobs
from servicekit.db import create_engine, migrate
from servicekit.jobs import Job, JobRunner, enqueue
from tests.conftest import Database


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.url, schema=database.schema)
    await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE,
                  schema=database.schema)
    yield engine
    await engine.dispose()


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
