"""Connector test fixtures: one store per connector, on every store the run covers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.store import MIGRATIONS, VERSION_TABLE
from connector.store.tables import metadata
from servicekit import jobs
from servicekit.db import create_engine, migrate
from tests.conftest import DATABASES, TEST_DATABASE_URL, Database, drop_schema

StoreFactory = Callable[[], Database]


class _Stores:
    """Hands out a fresh database per connector and removes them afterwards."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.schemas: list[str] = []

    def __call__(self) -> Database:
        if self.kind == "sqlite":
            return Database("sqlite", f"sqlite+aiosqlite:///{self.tmp / uuid.uuid4().hex}.db")
        assert TEST_DATABASE_URL is not None
        schema = "t_" + uuid.uuid4().hex[:12]
        self.schemas.append(schema)
        return Database("postgres", TEST_DATABASE_URL, schema)

    async def close(self) -> None:
        for schema in self.schemas:
            assert TEST_DATABASE_URL is not None
            await drop_schema(TEST_DATABASE_URL, schema)


@pytest_asyncio.fixture(params=DATABASES)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """A factory of fresh databases (one per connector) for one test."""
    pool = _Stores(request.param, tmp_path)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(params=DATABASES, scope="module", loop_scope="module")
async def module_stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreFactory]:
    """A factory of fresh databases shared by the tests of one module."""
    pool = _Stores(request.param, tmp_path_factory.mktemp("stores"))
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client, on the loop of the module's connectors."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    """A migrated control-plane store (the jobs table too), for the store tests."""
    engine = create_engine(database.url, schema=database.schema)
    await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE,
                  schema=database.schema)
    await migrate(engine, MIGRATIONS, metadata=metadata, version_table=VERSION_TABLE,
                  schema=database.schema)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend() -> AsyncIterator[TestServer]:
    """An HTTP API behind datasets (``tests.connector.dataplane.harness.backend_app``)."""
    from tests.connector.dataplane.harness import backend_app

    server = TestServer(backend_app())
    await server.start_server()
    yield server
    await server.close()
