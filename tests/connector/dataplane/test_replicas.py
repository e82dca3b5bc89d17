"""Data-plane processes on one PostgreSQL: exact counts; revocation reaching every worker."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from connector.dataplane.app import connector_signer, migrate_data_plane, open_data_plane
from connector.dataplane.runtime import DataPlane
from connector.domain.catalog import Backend
from connector.settings import ConnectorSettings
from policies.presets import calls_per_period, research_use, subscription
from servicekit.db import create_engine
from tests.conftest import TEST_DATABASE_URL, Database, drop_schema, free_port
from tests.connector.dataplane.harness import RESEARCH, bearer
from tests.connector.dataplane.processes import DataPlaneProcess, live_workers
from tests.factories import agreement, data_flow, data_plane_settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


@pytest_asyncio.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    """A private PostgreSQL schema."""
    assert TEST_DATABASE_URL is not None
    database = Database("postgres", TEST_DATABASE_URL, "t_" + str(time.time_ns())[-12:])
    yield database
    await drop_schema(database.url, database.schema or "")


async def control(settings: ConnectorSettings) -> DataPlane:
    """A data plane in the test process on the same store (it plays the control plane)."""
    engine = create_engine(settings.sqlalchemy_url, schema=settings.database_schema)
    await migrate_data_plane(engine, settings.database_schema)
    plane = open_data_plane(settings, engine, connector_signer(settings))
    await plane.start()
    return plane


async def close(plane: DataPlane) -> None:
    """Stop ``plane`` and its engine."""
    await plane.stop()
    await plane.db.dispose()


def plan_300() -> dict[str, object]:
    """At most 300 calls in the year, research only."""
    window = subscription(datetime(2026, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    return agreement(window + calls_per_period(300, "P3650D") + research_use())


async def test_two_replicas_serve_exactly_300_of_500_concurrent_requests(
    pg: Database, tmp_path: Path, backend: TestServer, api: Backend
) -> None:
    url = f"http://127.0.0.1:{free_port()}/data"
    first = data_plane_settings(pg, tmp_path, data_plane_url=url)
    second = first.model_copy(update={"port": free_port()})
    plane = await control(first)  # creates the key both replicas sign with
    replicas = [DataPlaneProcess(first, log=tmp_path / "a.log"),
                DataPlaneProcess(second, log=tmp_path / "b.log")]
    try:
        await asyncio.gather(*(r.ready() for r in replicas))
        edr = await plane.signaling.start(data_flow(plan_300(), api))
        headers = {**bearer(edr), "X-Purpose": RESEARCH}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def one(i: int) -> int:
                async with http.get(replicas[i % 2].base + "/data", headers=headers) as response:
                    await response.read()
                    return response.status

            statuses = await asyncio.gather(*(one(i) for i in range(500)))
        assert collections.Counter(statuses) == {200: 300, 403: 200}
    finally:
        for replica in replicas:
            replica.stop()
        await close(plane)


async def test_suspension_reaches_both_workers_before_it_returns(
    pg: Database, tmp_path: Path, api: Backend
) -> None:
    settings = data_plane_settings(pg, tmp_path)
    plane = await control(settings)
    served = DataPlaneProcess(settings, workers=2, log=tmp_path / "workers.log")
    try:
        await served.ready()
        deadline = time.monotonic() + 30
        while await live_workers(settings) < 3:  # two workers and the test's own plane
            assert time.monotonic() < deadline, "the workers did not join"
            await asyncio.sleep(0.1)
        flow = data_flow(agreement(research_use()), api)
        edr = await plane.signaling.start(flow)
        headers = {**bearer(edr), "X-Purpose": RESEARCH}

        async def fresh_connection_status() -> int:
            # a new connection each time, so the kernel spreads them over both workers
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) \
                    as http, http.get(served.base + "/data", headers=headers) as response:
                await response.read()
                return response.status

        assert await asyncio.gather(*(fresh_connection_status() for _ in range(20))) == [200] * 20
        await plane.signaling.suspend(flow.transfer_id, "suspended by the owner")
        # no wait at all: the very next requests, on either worker, are refused
        after = await asyncio.gather(*(fresh_connection_status() for _ in range(40)))
        assert after == [403] * 40
    finally:
        served.stop()
        await close(plane)
