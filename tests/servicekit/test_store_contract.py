"""The store contract pattern: the same engine and migrations on SQLite and PostgreSQL.

Every service's store tests use the ``database`` fixture the same way: they
run on SQLite always and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from servicekit.db import create_engine, current_revision, migrate, normalise_url
from tests.conftest import TEST_DATABASE_URL, Database, drop_schema

MIGRATIONS = Path(__file__).parent / "migrations"
notes = sa.Table(
    "notes",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("body", sa.String(200), nullable=False),
    sa.Column("author", sa.String(100)),
)


async def test_migrations_bring_an_empty_database_to_head(database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revision(engine) is None
        await migrate(engine, MIGRATIONS, schema=database.schema)
        assert await current_revision(engine) == "0002"
        async with engine.begin() as conn:
            await conn.execute(notes.insert(), [{"body": "hei", "author": "Halden"}])
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(notes.c.body, notes.c.author))).all()
        assert [tuple(r) for r in rows] == [("hei", "Halden")]
    finally:
        await engine.dispose()


async def test_migrating_twice_keeps_data_and_revision(database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    try:
        await migrate(engine, MIGRATIONS, schema=database.schema)
        async with engine.begin() as conn:
            await conn.execute(notes.insert(), [{"body": "kept"}])
        await migrate(engine, MIGRATIONS, schema=database.schema)
        async with engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(notes))).scalar()
        assert count == 1
        assert await current_revision(engine) == "0002"
    finally:
        await engine.dispose()


async def test_concurrent_start_ups_migrate_once(database: Database) -> None:
    """Replicas starting together must not both create the tables."""
    engines = [create_engine(database.url, schema=database.schema) for _ in range(3)]
    try:
        if database.kind == "sqlite":
            # One file, one writer at a time: the busy timeout serialises them.
            for engine in engines:
                await migrate(engine, MIGRATIONS)
        else:
            await asyncio.gather(
                *(migrate(e, MIGRATIONS, schema=database.schema) for e in engines)
            )
        assert await current_revision(engines[0]) == "0002"
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="schemas exist only on PostgreSQL")
async def test_postgres_schemas_keep_services_apart(tmp_path: Path) -> None:
    assert TEST_DATABASE_URL is not None
    database = Database("postgres", TEST_DATABASE_URL, "t_" + uuid.uuid4().hex[:12])
    assert database.schema is not None
    other = database.schema + "_b"
    first = create_engine(database.url, schema=database.schema)
    second = create_engine(database.url, schema=other)
    try:
        await migrate(first, MIGRATIONS, schema=database.schema)
        await migrate(second, MIGRATIONS, schema=other)
        async with first.begin() as conn:
            await conn.execute(notes.insert(), [{"body": "only in the first"}])
        async with second.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(notes))).scalar()
        assert count == 0
    finally:
        await first.dispose()
        await second.dispose()
        await drop_schema(database.url, database.schema)
        await drop_schema(database.url, other)


def test_plain_urls_get_async_drivers() -> None:
    assert normalise_url("postgresql://root@127.0.0.1/test").startswith("postgresql+asyncpg://")
    assert normalise_url("sqlite:///x.db").startswith("sqlite+aiosqlite://")
