"""Fixtures of the data-plane tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from connector.domain.catalog import Backend
from tests.conftest import Database
from tests.connector.dataplane.harness import Running, serve_data_plane, start_backend
from tests.factories import data_plane_settings
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """Business time for policies and tokens, moved by the test."""
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[TestServer]:
    """A third-party HTTP API on loopback."""
    server = await start_backend()
    yield server
    await server.close()


@pytest.fixture
def api(backend: TestServer) -> Backend:
    """The backend of a dataset served by :func:`backend` (with a secret API key)."""
    return Backend(type="http", address=str(backend.make_url("/api/items")),
                   properties={"proxyPath": "true", "proxyQueryParams": "true",
                               "header.Authorization": "Bearer backend-secret-key"})


@pytest_asyncio.fixture
async def dp(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Running]:
    """A data plane on ``database`` with the fake clock."""
    running = await serve_data_plane(
        data_plane_settings(database, tmp_path, edr_token_seconds=365 * 86400), clock)
    yield running
    await running.server.close()
