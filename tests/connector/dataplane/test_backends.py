"""File and PostgreSQL-query backends, and usage reports to the marketplace."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.runtime import NOTIFY_JOB
from connector.domain.catalog import Backend
from identity.jose import decode_jws, verify_jws
from policies.presets import PlanTerms, pay_per_use, purchase, research_use
from servicekit import jobs
from servicekit.db import create_engine
from tests.conftest import TEST_DATABASE_URL, Database, drop_schema, free_port
from tests.connector.dataplane.harness import RESEARCH, Running, bearer, fetch, serve_data_plane
from tests.factories import agreement, data_flow, data_plane_settings

HEADERS = {"X-Purpose": RESEARCH}


async def test_files_by_type_and_no_way_out_of_the_folder(dp: Running, tmp_path: Path) -> None:
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "stops.csv").write_text("id,name\n1,Torget\n")
    (folder / "stops.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (folder / "stops.json").write_text("[1, 2]")
    (tmp_path / "secret.txt").write_text("not for you")
    edr = await dp.plane.signaling.start(data_flow(
        agreement(research_use()),
        Backend(type="file", address=str(folder), properties={"proxyPath": "true"})))
    headers = {**bearer(edr), **HEADERS}
    async with aiohttp.ClientSession() as http:
        for name, media in (("stops.csv", "text/csv"), ("stops.json", "application/json"),
                            ("stops.geojson", "application/geo+json")):
            async with http.get(f"{dp.url}/{name}", headers=headers) as response:
                assert response.status == 200
                assert response.content_type == media
                assert await response.read() == (folder / name).read_bytes()
        for escape in ("../secret.txt", "%2e%2e/secret.txt", "nothing.csv"):
            status, body = await fetch(http, f"{dp.url}/{escape}", headers)
            assert status == 404, escape
            assert b"not for you" not in body


@pytest_asyncio.fixture
async def source_db() -> AsyncIterator[str]:
    """A PostgreSQL schema with a table of 5 000 readings (the municipality's own database)."""
    if TEST_DATABASE_URL is None:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    schema = f"src_{free_port()}"
    engine = create_engine(TEST_DATABASE_URL)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        await conn.execute(sa.text(
            f"CREATE TABLE {schema}.readings (id int, station text, value numeric)"))
        await conn.execute(sa.text(
            f"INSERT INTO {schema}.readings SELECT i, 'st' || (i % 7), i * 0.5 "  # noqa: S608
            "FROM generate_series(1, 5000) AS i"))
    await engine.dispose()
    yield schema
    await drop_schema(TEST_DATABASE_URL, schema)


async def test_a_parameterised_query_as_json_and_csv(dp: Running, source_db: str) -> None:
    assert TEST_DATABASE_URL is not None
    query = (f"SELECT id, station, value FROM {source_db}.readings "  # noqa: S608 - test table
             "WHERE (CAST(:station AS text) IS NULL OR station = :station) ORDER BY id")
    edr = await dp.plane.signaling.start(data_flow(agreement(research_use()), Backend(
        type="postgresql", address=TEST_DATABASE_URL,
        properties={"query": query, "params": "station"})))
    headers = {**bearer(edr), **HEADERS}
    async with aiohttp.ClientSession() as http:
        status, body = await fetch(http, dp.url, headers)
        assert status == 200
        rows = json.loads(body)
        assert len(rows) == 5000
        assert rows[0] == {"id": 1, "station": "st1", "value": "0.5"}
        status, body = await fetch(http, dp.url + "?station=st3&format=csv", headers)
        assert status == 200
        table = list(csv.reader(io.StringIO(body.decode())))
        assert table[0] == ["id", "station", "value"]
        assert len(table) == 1 + 714
        status, body = await fetch(http, dp.url + "?station=x';DROP TABLE readings;--", headers)
        assert status == 200
        assert json.loads(body) == []
        status, body = await fetch(http, dp.url + "?table=readings", headers)
        assert status == 400
        assert b"query-parameter-unknown" in body
        status, body = await fetch(http, dp.url + "?format=xml", headers)
        assert status == 400
    assert TEST_DATABASE_URL.split("@")[-1] not in body.decode()


PRODUCT = "urn:spec:traffic-counts"
PLAN = "urn:plan:per-call"


class Marketplace:
    """A fake marketplace usage endpoint: fails the first call, then acknowledges."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str]] = []
        self.calls = 0

    async def usage(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls == 1:
            return web.Response(status=503)
        document = await request.json()
        if any(d["id"] == document["id"] for d, _ in self.received):
            return web.Response(status=409)
        self.received.append((document, request.headers["X-Usage-Signature"]))
        return web.json_response(document, status=201)


@asynccontextmanager
async def selling(database: Database, tmp_path: Path, api: Backend,
                  usage: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> AsyncIterator[tuple[Running, Any]]:
    """A data plane reporting to a marketplace whose usage endpoint is ``usage``, and a
    started pay-per-use flow bought on it: (the running data plane, the flow's EDR)."""
    app = web.Application()
    app.router.add_post("/tmf-api/usageManagement/v4/usage", usage)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    settings = data_plane_settings(database, tmp_path, usage_bucket_seconds=1.0,
                                   usage_grace_seconds=0.2).model_copy(
        update={"marketplace_url": str(server.make_url(""))})
    running = await serve_data_plane(settings)
    assert running.plane.runner is not None
    running.plane.runner._base_backoff = 0.05  # retry fast in the test
    try:
        # bought on the marketplace: the report names the product and the plan bought
        flow = data_flow(agreement(purchase(PRODUCT, plan=PLAN) + pay_per_use("2.50")), api)
        flow = replace(flow, credentials={"DataProductPurchaseCredential": (
            {"product": PRODUCT, "plan": PLAN},)})
        yield running, await running.plane.signaling.start(flow)
    finally:
        await running.server.close()
        await server.close()


async def _reported(running: Running, calls: Callable[[], int]) -> None:
    """Flush the data plane's usage until the marketplace has been called."""
    for _ in range(300):
        if calls():
            return
        await asyncio.sleep(0.05)
        await running.plane.flush()
        running.plane._reported_at = 0.0


async def test_pay_per_use_usage_is_reported_once_and_retried_until_acknowledged(
    database: Database, tmp_path: Path, api: Backend
) -> None:
    market = Marketplace()
    async with selling(database, tmp_path, api, market.usage) as (running, edr):
        async with aiohttp.ClientSession() as http:
            for _ in range(7):
                assert (await fetch(http, running.url, bearer(edr)))[0] == 200
        await _reported(running, lambda: len(market.received))
        await asyncio.sleep(0.5)
        assert len(market.received) == 1, market.calls
        document, signature = market.received[0]
        values = {c["name"]: c["value"] for c in document["usageCharacteristic"]}
        assert values["requests"] == 7
        assert values["transferId"] == edr.transfer_id
        assert (values["productId"], values["planId"]) == (PRODUCT, PLAN)
        assert {p["role"] for p in document["relatedParty"]} == {"provider", "consumer"}
        jws = decode_jws(signature, typ={"usage+jwt"})
        verify_jws(jws, running.plane.signer.key.public_key)
        assert jws.claims() == document
        assert market.calls == 2  # one refusal, one acknowledgement


async def test_a_report_the_marketplace_refuses_is_not_sent_again(
    database: Database, tmp_path: Path, api: Backend
) -> None:
    calls: list[int] = []

    async def refuse(request: web.Request) -> web.Response:
        calls.append(1)
        return web.json_response({"code": "usage-not-sold"}, status=403)

    async with selling(database, tmp_path, api, refuse) as (running, edr):
        async with aiohttp.ClientSession() as http:
            assert (await fetch(http, running.url, bearer(edr)))[0] == 200
        await _reported(running, lambda: len(calls))
        await asyncio.sleep(1.0)  # twenty backoffs' worth
        assert len(calls) == 1


async def test_duties_attribution_header_and_notifications(
    database: Database, tmp_path: Path, api: Backend
) -> None:
    notices: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        notices.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    running = await serve_data_plane(data_plane_settings(database, tmp_path))
    try:
        notify = {"action": {"rdf:value": {"@id": "dst:notify"}, "refinement": [
            {"leftOperand": "dst:endpoint", "operator": "eq",
             "rightOperand": {"@id": str(server.make_url("/hook"))}}]}}
        attribute = {"action": "attribute", "attributedParty": "https://halden.kommune.no"}
        policy = agreement(PlanTerms(duties=(notify, attribute), uses_profile=True))
        edr = await running.plane.signaling.start(data_flow(policy, api))
        async with aiohttp.ClientSession() as http:
            for _ in range(4):
                async with http.get(running.url, headers=bearer(edr)) as response:
                    assert response.status == 200
                    assert response.headers["Attribution"] == "https://halden.kommune.no"
        for _ in range(200):
            if sum(n["uses"] for n in notices) >= 4:
                break
            await asyncio.sleep(0.05)
        assert sum(n["uses"] for n in notices) == 4
        assert {n["transferId"] for n in notices} == {edr.transfer_id}
    finally:
        await running.server.close()
        await server.close()


async def test_notify_endpoints_at_refused_addresses_are_never_connected_to(
    database: Database, tmp_path: Path, api: Backend
) -> None:
    """Outside dev, a policy's notify endpoint on loopback or a private network is refused.

    The loopback one is a listener that counts connections: it gets none.
    """
    connections = 0

    async def count(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    endpoints = [f"http://127.0.0.1:{port}/hook", "http://10.0.0.7/hook",
                 "http://169.254.169.254/latest/meta-data", "http://[::1]:9/hook"]
    settings = data_plane_settings(database, tmp_path).model_copy(update={"dev": False})
    running = await serve_data_plane(settings)
    assert running.plane.runner is not None
    running.plane.runner._base_backoff = 0.05
    try:
        duties = tuple({"action": {"rdf:value": {"@id": "dst:notify"}, "refinement": [
            {"leftOperand": "dst:endpoint", "operator": "eq", "rightOperand": {"@id": url}}]}}
            for url in endpoints)
        edr = await running.plane.signaling.start(data_flow(
            agreement(PlanTerms(duties=duties, uses_profile=True)), api))
        async with aiohttp.ClientSession() as http:
            assert (await fetch(http, running.url, bearer(edr)))[0] == 200
        await running.plane.flush()
        rows: list[Any] = []
        for _ in range(200):
            async with running.plane.db.connect() as conn:
                rows = list((await conn.execute(sa.select(
                    jobs.jobs_table.c.payload, jobs.jobs_table.c.status,
                    jobs.jobs_table.c.attempts, jobs.jobs_table.c.last_error).where(
                    jobs.jobs_table.c.kind == NOTIFY_JOB))).all())
            if len(rows) == len(endpoints) and all(r.status == "failed" for r in rows):
                break
            await asyncio.sleep(0.05)
        assert sorted(json.loads(r.payload)["endpoint"] for r in rows) == sorted(endpoints)
        for row in rows:
            assert row.status == "failed", row  # refused at once, not retried
            assert row.attempts == 1, row
            assert "refused" in row.last_error, row
        assert connections == 0
    finally:
        await running.server.close()
        listener.close()
        await listener.wait_closed()
