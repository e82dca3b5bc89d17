"""Counter blocks: refilled early, reserved in turns on SQLite, never past the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.dataplane.app import migrate_data_plane
from connector.dataplane.counters import Counters, CounterSpec
from connector.dataplane.sql import Writer
from connector.dataplane.store.tables import counters
from servicekit.db import create_engine
from tests.conftest import Database


@pytest_asyncio.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    """The data plane's tables on every store the run covers."""
    engine = create_engine(database.url, schema=database.schema)
    await migrate_data_plane(engine, database.schema)
    yield engine
    await engine.dispose()


async def _allocated(engine: AsyncEngine, spec: CounterSpec) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(
            sa.select(counters.c.allocated).where(counters.c.key == spec.key))).scalar_one())


async def test_the_next_block_is_reserved_when_half_is_left(engine: AsyncEngine) -> None:
    pool = Counters(Writer(engine), block_size=64, wait_seconds=0.5, linger_seconds=10.0)
    spec = CounterSpec("urn:agreement:busy", 0.0, 1_000_000)
    slots = [await pool.take(spec) for _ in range(32)]
    assert await _allocated(engine, spec) == 64  # half used: nothing asked yet
    slots.append(await pool.take(spec))  # fewer than half left: the next block, in the background
    for task in list(pool._refills):
        await task
    assert await _allocated(engine, spec) == 128
    assert pool.reservations == 2
    slots += [await pool.take(spec) for _ in range(60)]
    assert slots == list(range(93))  # in order, none twice, and no request waited for a block
    await pool.close()


async def test_a_sqlite_reservation_waits_its_turn_behind_a_writer(
    engine: AsyncEngine, database: Database,
) -> None:
    pool = Counters(Writer(engine), block_size=64, wait_seconds=2.0, linger_seconds=10.0)
    spec = CounterSpec("urn:agreement:turns", 0.0, 1000)
    async with pool.writer.begin():  # a flush holds the write lock
        taking = asyncio.ensure_future(pool.take(spec))
        await asyncio.sleep(0.2)
        # on SQLite it waits in the event loop; on PostgreSQL nothing is shared to wait for
        assert taking.done() is (database.kind != "sqlite")
    assert await taking == 0
    await pool.close()


async def test_blocks_never_pass_the_limit(engine: AsyncEngine) -> None:
    pool = Counters(Writer(engine), block_size=64, wait_seconds=0.2, linger_seconds=0.05)
    spec = CounterSpec("urn:agreement:limited", 0.0, 700)
    served = [await pool.take(spec) for _ in range(750)]
    assert sorted(s for s in served if s is not None) == list(range(700))
    assert served[700:] == [None] * 50
    assert await _allocated(engine, spec) == 700
    await pool.close()
