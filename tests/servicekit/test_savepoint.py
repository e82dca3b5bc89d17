"""``servicekit.db.savepoint``: a savepoint never commits its caller's transaction early."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.db import create_engine, savepoint
from tests.conftest import Database

numbers = sa.Table("savepoint_numbers", sa.MetaData(), sa.Column("x", sa.Integer, primary_key=True))


async def _fail_after_a_savepoint(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.select(1))  # a read first: the driver has not begun yet
        async with savepoint(conn):
            await conn.execute(numbers.insert().values(x=1))
        raise RuntimeError("the rest of the transaction fails")


async def test_a_savepoint_as_the_first_write_stays_inside_the_transaction(
        database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as conn:
            if database.schema:
                await conn.execute(sa.schema.CreateSchema(database.schema, if_not_exists=True))
            await conn.run_sync(numbers.metadata.drop_all)
            await conn.run_sync(numbers.metadata.create_all)
        with pytest.raises(RuntimeError):
            await _fail_after_a_savepoint(engine)
        async with engine.begin() as conn:
            # a clash inside a savepoint leaves the transaction usable
            await conn.execute(numbers.insert().values(x=2))
            with pytest.raises(IntegrityError):
                async with savepoint(conn):
                    await conn.execute(numbers.insert().values(x=2))
            await conn.execute(numbers.insert().values(x=3))
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(numbers.c.x).order_by(numbers.c.x))).scalars()
            assert list(rows) == [2, 3]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(numbers.metadata.drop_all)
        await engine.dispose()
