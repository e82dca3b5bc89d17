"""Real processes: a provider killed with SIGKILL mid-negotiation, and replicas sharing work.

The provider runs as ``dataspace connector serve`` in a subprocess (settings
from ``CONNECTOR_*`` environment variables); the consumer runs in the test's
event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import sqlalchemy as sa

from connector.settings import FixedCaller
from servicekit.db import create_engine
from tests.conftest import TEST_DATABASE_URL, Database, drop_schema, free_port_pair
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.connector.processes import ServedConnector
from tests.factories import connector_settings

pytestmark = pytest.mark.slow


def _provider_env(database: Database | None = None, *, lease: float = 15.0) -> dict[str, str]:
    env = {
        "CONNECTOR_NAME": "provider",
        "CONNECTOR_DID": "did:web:provider.example",
        "CONNECTOR_AUTH__TOKENS": json.dumps({"consumer-token": {
            "id": "did:web:consumer.example"}}),
        "CONNECTOR_AUTH__OUTBOUND_TOKEN": "provider-token",
        "CONNECTOR_JOBS__LEASE_SECONDS": str(lease),
        "CONNECTOR_HTTP_TIMEOUT_SECONDS": str(min(10.0, lease / 2)),
        "CONNECTOR_JOBS__POLL_SECONDS": "0.2",
        "CONNECTOR_JOBS__BASE_BACKOFF_SECONDS": "0.1",
        "CONNECTOR_JOBS__MAX_ATTEMPTS": "30",
    }
    if database is not None:
        env["CONNECTOR_DATABASE_URL"] = database.url
        if database.schema:
            env["CONNECTOR_DATABASE_SCHEMA"] = database.schema
    return env


async def _start_consumer(tmp: Path, database: Database,
                          port: int | None = None) -> RunningConnector:
    overrides = {"port": port} if port is not None else {}
    return await start_connector(connector_settings(
        "consumer", tmp, database,
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")},
        outbound_token="consumer-token", role="consumer",
        jobs={"poll_seconds": 0.2, "max_attempts": 30, "base_backoff_seconds": 0.1,
              "concurrency": 64},
        **overrides,
    ))


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


async def test_killed_provider_finishes_the_negotiation_after_restart(
    tmp_path: Path, stores: StoreFactory, http: aiohttp.ClientSession
) -> None:
    provider_db = stores()
    provider = ServedConnector(tmp_path / "provider", free_port_pair(),
                               env=_provider_env(provider_db, lease=2.0))
    consumer_db = stores()
    consumer = await _start_consumer(tmp_path, consumer_db)
    try:
        await provider.start()
        await provider.api(http, "POST", "/api/v1/datasets", expect=201, json_body={
            "id": "urn:yellow:restart", "title": "Restricted", "access_level": "RESTRICTED",
            "backend": {"address": "https://example.org/data"}})
        started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
            "counterparty_address": provider.dsp_url, "dataset_id": "urn:yellow:restart"})
        theirs = None
        for _ in range(300):
            waiting = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner")
            found = [n for n in waiting["items"] if n["consumer_pid"] == started["id"]]
            if found:
                theirs = found[0]
                break
            await asyncio.sleep(0.02)
        assert theirs is not None
        # The consumer goes away; the provider agrees; its message cannot be delivered.
        consumer_port = consumer.settings.port
        await consumer.stop()
        await provider.api(http, "POST", f"/api/v1/negotiations/{theirs['id']}/approve",
                           expect=200)
        await asyncio.sleep(0.5)
        provider.kill()
        # Both come back; the provider's queued agreement is delivered after all.
        consumer = await _start_consumer(tmp_path, consumer_db, port=consumer_port)
        await provider.start()
        done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"},
                                       timeout=30)
        assert done["agreement_id"], done
        final = await provider.api(http, "GET", f"/api/v1/negotiations/{theirs['id']}")
        for _ in range(100):
            if final["state"] == "FINALIZED":
                break
            await asyncio.sleep(0.05)
            final = await provider.api(http, "GET", f"/api/v1/negotiations/{theirs['id']}")
        assert final["state"] == "FINALIZED"
        assert final["agreement_id"] == done["agreement_id"]
    finally:
        provider.stop()
        await consumer.stop()


@pytest.mark.postgres
@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_two_replicas_finalize_200_concurrent_negotiations_exactly_once(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    assert TEST_DATABASE_URL is not None
    schema = "t_" + uuid.uuid4().hex[:12]
    shared = Database("postgres", TEST_DATABASE_URL, schema)
    data_dir = tmp_path / "provider"
    first = free_port_pair()
    ports = [first, free_port_pair(avoid={first, first + 1})]  # four distinct ports
    replicas = [ServedConnector(data_dir, port, env=_provider_env(shared)) for port in ports]
    consumer = await _start_consumer(tmp_path, Database(
        "sqlite", f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}"))
    try:
        for replica in replicas:  # one after the other: the first creates the key
            await replica.start()
        await replicas[0].api(http, "POST", "/api/v1/datasets", expect=201, json_body={
            "id": "urn:green:replicas", "title": "Shared",
            "backend": {"address": "https://example.org/data"}})
        dataset = await consumer.api(http, "POST", "/api/v1/catalog/dataset", expect=200, json={
            "counterparty_address": replicas[0].dsp_url, "dataset_id": "urn:green:replicas"})
        offer = dataset["hasPolicy"][0] | {"target": "urn:green:replicas"}

        async def negotiate(index: int) -> str:
            replica = replicas[index % 2]  # a load balancer in front of the replicas
            started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201,
                                         json={"counterparty_address": replica.dsp_url,
                                               "counterparty_id": "did:web:provider.example",
                                               "offer": offer})
            return str(started["id"])

        began = time.monotonic()
        ids = await asyncio.gather(*(negotiate(i) for i in range(200)))
        for pid in ids:
            await consumer.wait_for(http, "negotiations", pid, {"FINALIZED"}, timeout=90)
        elapsed = time.monotonic() - began

        engine = create_engine(TEST_DATABASE_URL, schema=schema)
        try:
            async with engine.connect() as conn:
                states: dict[str, int] = dict((await conn.execute(sa.text(
                    "SELECT state, count(*) FROM negotiations GROUP BY state"))).all())
                per_consumer = (await conn.execute(sa.text(
                    "SELECT max(n) FROM (SELECT count(*) AS n FROM negotiations "
                    "GROUP BY consumer_pid) AS c"))).scalar()
                agreements = (await conn.execute(sa.text(
                    "SELECT count(*), count(DISTINCT negotiation_id) FROM agreements"))).one()
                finalized_events = (await conn.execute(sa.text(
                    "SELECT process_id, count(*) FROM outbox WHERE message LIKE "
                    "'%\"FINALIZED\"%' GROUP BY process_id"))).all()
                failed = (await conn.execute(sa.text(
                    "SELECT count(*) FROM outbox WHERE status <> 'delivered'"))).scalar()
                owners = (await conn.execute(sa.text(
                    "SELECT count(DISTINCT lease_owner) FROM jobs"))).scalar()
        finally:
            await engine.dispose()
        assert states == {"FINALIZED": 200}
        assert per_consumer == 1
        assert tuple(agreements) == (200, 200)
        assert len(finalized_events) == 200
        assert all(count == 1 for _pid, count in finalized_events)
        assert failed == 0
        assert owners == 2, "both replicas should have taken a share of the jobs"
        assert elapsed < 60
    finally:
        for replica in replicas:
            replica.stop()
        await consumer.stop()
        await drop_schema(TEST_DATABASE_URL, schema)
