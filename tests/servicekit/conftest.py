"""Fixtures of the servicekit tests: a database with the job tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit import jobs
from servicekit.db import create_engine, migrate
from tests.conftest import Database


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database with servicekit's job tables migrated."""
    engine = create_engine(database.url, schema=database.schema)
    await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE,
                  schema=database.schema)
    yield engine
    await engine.dispose()
