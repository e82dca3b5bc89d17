"""The durable job queue: transactional enqueue, retries, leases shared by replicas."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.db import create_engine
from servicekit.jobs import Job, JobRunner, PermanentJobError, enqueue, jobs_table
from tests.conftest import Database
from tests.fakes import FakeClock


async def status_of(engine: AsyncEngine, job_id: str) -> tuple[str, int, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(
            sa.select(jobs_table.c.status, jobs_table.c.attempts, jobs_table.c.last_error)
            .where(jobs_table.c.id == job_id)
        )).one()
    return row.status, row.attempts, row.last_error


async def test_a_rolled_back_transaction_enqueues_nothing(engine: AsyncEngine) -> None:
    async def change_state_and_fail() -> None:
        async with engine.begin() as conn:
            await enqueue(conn, "send", {"to": "x"})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await change_state_and_fail()
    async with engine.connect() as conn:
        count = await conn.execute(sa.select(sa.func.count()).select_from(jobs_table))
    assert count.scalar() == 0


async def test_jobs_run_once_and_are_marked_done(engine: AsyncEngine) -> None:
    seen: list[dict[str, object]] = []

    async def send(job: Job) -> None:
        seen.append(job.payload)

    async with engine.begin() as conn:
        job_id = await enqueue(conn, "send", {"to": "provider", "n": 1})
    runner = JobRunner(engine, {"send": send})
    assert await runner.run_due() == 1
    assert await runner.run_due() == 0
    assert seen == [{"to": "provider", "n": 1}]
    assert await status_of(engine, job_id) == ("done", 1, None)


async def test_failures_retry_with_backoff_until_the_limit(engine: AsyncEngine) -> None:
    clock = FakeClock(1_000_000.0)
    calls = 0

    async def flaky(_job: Job) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("peer down")

    failed: list[str] = []

    async def on_failure(job: Job, error: str) -> None:
        failed.append(job.id)

    runner = JobRunner(engine, {"send": flaky}, clock=clock, base_backoff=1.0,
                       on_failure=on_failure)
    async with engine.begin() as conn:
        job_id = await enqueue(conn, "send", {}, max_attempts=3, now=clock.now)
    assert await runner.run_due() == 1
    status, attempts, error = await status_of(engine, job_id)
    assert (status, attempts) == ("pending", 1)
    assert error is not None
    assert "peer down" in error
    assert await runner.run_due() == 0  # backing off: not due yet
    clock.now += 61
    assert await runner.run_due() == 1
    clock.now += 61
    assert await runner.run_due() == 1
    assert await status_of(engine, job_id) == ("failed", 3, "ConnectionError: peer down")
    assert calls == 3
    assert failed == [job_id]


async def test_permanent_errors_fail_at_once(engine: AsyncEngine) -> None:
    async def refuse(_job: Job) -> None:
        raise PermanentJobError("peer says the process does not exist")

    async with engine.begin() as conn:
        job_id = await enqueue(conn, "send", {})
    await JobRunner(engine, {"send": refuse}).run_due()
    assert (await status_of(engine, job_id))[0] == "failed"


async def test_dedupe_key_keeps_one_job(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await enqueue(conn, "report", {"bucket": 1}, dedupe_key="usage:1")
        second = await enqueue(conn, "report", {"bucket": 1}, dedupe_key="usage:1")
    assert first == second


async def test_a_dead_replicas_lease_expires_and_the_work_resumes(engine: AsyncEngine) -> None:
    clock = FakeClock(1_000_000.0)
    done: list[str] = []

    async def work(job: Job) -> None:
        done.append(job.id)

    async with engine.begin() as conn:
        job_id = await enqueue(conn, "send", {}, now=clock.now)
    dead = JobRunner(engine, {"send": work}, clock=clock, lease_seconds=15)
    assert len(await dead._claim()) == 1  # claimed, then the replica "dies"
    survivor = JobRunner(engine, {"send": work}, clock=clock, lease_seconds=15)
    assert await survivor.run_due() == 0  # the lease still holds
    clock.now += 16
    assert await survivor.run_due() == 1
    assert done == [job_id]


async def test_replicas_share_the_queue_without_running_a_job_twice(
    engine: AsyncEngine, database: Database
) -> None:
    runs: list[str] = []

    async def work(job: Job) -> None:
        runs.append(job.id)
        await asyncio.sleep(0.001)

    async with engine.begin() as conn:
        ids = {await enqueue(conn, "send", {"i": i}) for i in range(200)}
    engines = [create_engine(database.url, schema=database.schema) for _ in range(3)]
    runners = [JobRunner(e, {"send": work}, batch_size=7) for e in engines]
    try:
        async def drain(runner: JobRunner) -> None:
            while await runner.run_due():
                pass

        await asyncio.gather(*(drain(r) for r in runners))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(runs) == sorted(ids)  # each exactly once


async def test_background_loop_wakes_on_demand(engine: AsyncEngine) -> None:
    ran = asyncio.Event()

    async def work(_job: Job) -> None:
        ran.set()

    runner = JobRunner(engine, {"send": work}, poll_interval=30)
    await runner.start()
    try:
        await asyncio.sleep(0.05)
        async with engine.begin() as conn:
            await enqueue(conn, "send", {})
        runner.wake()
        await asyncio.wait_for(ran.wait(), timeout=2)
    finally:
        await runner.stop()


async def test_stop_is_not_lost_to_a_wake_up_at_the_same_moment(engine: AsyncEngine) -> None:
    """A wake() racing stop() must not swallow the cancellation (Python 3.11 wait_for)."""
    async def work(_job: Job) -> None:
        return None

    for yields in range(6):
        runner = JobRunner(engine, {"send": work}, poll_interval=30)
        await runner.start()
        await asyncio.sleep(0.05)  # the loop is waiting for a wake-up
        runner.wake()
        for _ in range(yields):  # the wake-up is part-way through being delivered
            await asyncio.sleep(0)
        started = time.monotonic()
        await runner.stop()
        # A lost cancellation leaves the loop waiting for its next poll (30 s).
        assert time.monotonic() - started < 2, f"stop hung after {yields} yields"
