"""End to end through signaling: exact counts, purpose, time window, suspension, refresh."""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from connector.dataplane.store.tables import audit
from connector.domain.catalog import Backend
from policies.presets import PlanTerms, calls_per_period, research_use, subscription
from tests.conftest import Database
from tests.connector.dataplane.harness import (
    COMMERCE,
    RESEARCH,
    SEEN,
    SMALL_BODY,
    Running,
    bearer,
    fetch,
    gather_statuses,
    serve_data_plane,
)
from tests.factories import agreement, data_flow, data_plane_settings
from tests.fakes import FakeClock

END = datetime(2026, 6, 1, tzinfo=UTC)


def research_plan() -> dict[str, object]:
    """At most 100 calls until END, for research only."""
    return agreement(subscription(datetime(2026, 1, 1, tzinfo=UTC), END)
                     + calls_per_period(100, "P3650D") + research_use())


async def test_exactly_100_permits_then_403_then_purpose_and_end_date(
    dp: Running, api: Backend, clock: FakeClock, backend: TestServer
) -> None:
    flow = data_flow(research_plan(), api)
    edr = await dp.plane.signaling.start(flow)
    assert edr.endpoint == dp.url
    research = {**bearer(edr), "X-Purpose": RESEARCH}
    async with aiohttp.ClientSession() as http:
        status, body = await fetch(http, dp.url + "/v1?year=2025&q=a%2Bb", research)
        assert (status, body) == (200, SMALL_BODY)
        statuses = await gather_statuses(http, dp.url, research, 120)
        assert collections.Counter(statuses) == {200: 99, 403: 21}
        status, body = await fetch(http, dp.url, research)
        assert status == 403
        # the problem says why: the count reason from the policy
        async with http.get(dp.url, headers=research) as response:
            problem = await response.json(content_type=None)
            assert response.content_type == "application/problem+json"
        assert problem["code"] == "policy-denied"
        assert any(r["code"] for r in problem["reasons"])
    # the backend saw the passthrough, with its secret key, and never more than 100 calls
    seen = backend.app[SEEN]
    assert len(seen) == 100
    assert seen[0]["path"] == "/api/items/v1"
    assert seen[0]["query"] == "year=2025&q=a%2Bb"  # passed on as sent
    assert seen[0]["auth"] == "Bearer backend-secret-key"


async def test_another_purpose_is_denied_and_not_counted(dp: Running, api: Backend) -> None:
    edr = await dp.plane.signaling.start(data_flow(research_plan(), api))
    async with aiohttp.ClientSession() as http:
        status, body = await fetch(http, dp.url, {**bearer(edr), "X-Purpose": COMMERCE})
        assert status == 403
        assert b"backend-secret-key" not in body
        status, _ = await fetch(http, dp.url, bearer(edr))  # no purpose at all
        assert status == 403
        assert await gather_statuses(http, dp.url, {**bearer(edr), "X-Purpose": RESEARCH},
                                     100) == [200] * 100


async def test_head_is_checked_and_audited_but_not_a_use(dp: Running, api: Backend) -> None:
    edr = await dp.plane.signaling.start(data_flow(
        agreement(calls_per_period(2, "P3650D") + research_use()), api))
    research = {**bearer(edr), "X-Purpose": RESEARCH}
    async with aiohttp.ClientSession() as http:
        for _ in range(5):  # more than the limit: a HEAD takes no use
            async with http.head(dp.url, headers=research) as response:
                assert response.status == 200
                assert response.headers["Content-Length"] == str(len(SMALL_BODY))
                assert await response.read() == b""
        async with http.head(dp.url, headers={**bearer(edr), "X-Purpose": COMMERCE}) as response:
            assert response.status == 403  # the policy still decides a HEAD
        assert [(await fetch(http, dp.url, research))[0] for _ in range(3)] == [200, 200, 403]
        async with http.head(dp.url, headers=research) as response:
            assert response.status == 403  # no use left: a GET now would be refused
    receipt = await dp.plane.receipt(edr.transfer_id)
    # The refused HEAD (purpose), GET and HEAD (no use left) are counted, not billed.
    assert receipt["content"]["usage"] == {"requests": 2, "bytes": 2 * len(SMALL_BODY),
                                           "failures": 0, "refusals": 3}
    async with dp.plane.db.connect() as conn:
        bodies = (await conn.execute(sa.select(audit.c.body).where(
            audit.c.transfer_id == edr.transfer_id).order_by(audit.c.seq))).scalars().all()
    records = [(r["decision"], r["method"]) for r in map(json.loads, bodies)]
    assert records == [("permit", "HEAD")] * 5 + [("deny", "HEAD"), ("permit", "GET"),
                       ("permit", "GET"), ("deny", "GET"), ("deny", "HEAD")]


async def test_after_the_end_date_everything_is_denied(dp: Running, api: Backend,
                                                        clock: FakeClock) -> None:
    edr = await dp.plane.signaling.start(data_flow(research_plan(), api))
    headers = {**bearer(edr), "X-Purpose": RESEARCH}
    async with aiohttp.ClientSession() as http:
        assert (await fetch(http, dp.url, headers))[0] == 200
        clock.set(END)
        assert await gather_statuses(http, dp.url, headers, 5) == [403] * 5
        async with http.get(dp.url, headers=headers) as response:
            assert (await response.json(content_type=None))["code"] == "policy-denied"
        # the policy monitor sees the window has closed and ends the transfer
        flow_id = edr.transfer_id
        assert await dp.plane.monitor.check() == [flow_id]
        async with http.get(dp.url, headers=headers) as response:
            assert (await response.json(content_type=None))["code"] == "transfer-not-active"


async def test_a_suspended_transfers_token_stops_at_once_and_a_new_one_works_after_resume(
    dp: Running, api: Backend
) -> None:
    flow = data_flow(research_plan(), api)
    edr = await dp.plane.signaling.start(flow)
    headers = {**bearer(edr), "X-Purpose": RESEARCH}
    async with aiohttp.ClientSession() as http:
        assert (await fetch(http, dp.url, headers))[0] == 200
        await dp.plane.signaling.suspend(flow.transfer_id, "owner asked")
        status, body = await fetch(http, dp.url, headers)
        assert status == 403
        assert b"transfer-not-active" in body
        resumed = await dp.plane.signaling.start(flow)
        assert (await fetch(http, dp.url, headers))[0] == 403  # the old token stays dead
        assert (await fetch(http, dp.url, {**bearer(resumed), "X-Purpose": RESEARCH}))[0] == 200
        await dp.plane.signaling.terminate(flow.transfer_id)
        assert (await fetch(http, dp.url, {**bearer(resumed), "X-Purpose": RESEARCH}))[0] == 403


async def test_refresh_gives_a_working_token_while_the_transfer_lives(
    dp: Running, api: Backend
) -> None:
    flow = data_flow(research_plan(), api)
    edr = await dp.plane.signaling.start(flow)
    async with aiohttp.ClientSession() as http:
        async with http.post(dp.base + "/dataplane/refresh", headers=bearer(edr)) as response:
            assert response.status == 200
            fresh = await response.json()
        assert fresh["token"] != edr.token
        assert fresh["endpoint"] == dp.url
        assert (await fetch(http, dp.url, {**bearer(fresh["token"]), "X-Purpose": RESEARCH}))[0] \
            == 200
        await dp.plane.signaling.suspend(flow.transfer_id)
        async with http.post(dp.base + "/dataplane/refresh", headers=bearer(edr)) as response:
            assert response.status == 403


OSLO = "https://sws.geonames.org/3143244/"


@pytest.mark.parametrize(("locations", "status"), [
    ({"127.0.0.0/8": OSLO}, 200),
    ({"10.0.0.0/8": OSLO, "127.0.0.0/8": "https://sws.geonames.org/2618425/"}, 403),
    ({}, 403),  # location unknown: a spatial constraint cannot hold
])
async def test_client_location_is_read_only_when_the_policy_is_spatial(
    database: Database, tmp_path: Path, api: Backend, locations: dict[str, str], status: int
) -> None:
    running = await serve_data_plane(data_plane_settings(database, tmp_path, locations=locations))
    try:
        policy = agreement(PlanTerms(constraints=(
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": {"@id": OSLO}},)))
        edr = await running.plane.signaling.start(data_flow(policy, api))
        async with aiohttp.ClientSession() as http:
            assert (await fetch(http, running.url, bearer(edr)))[0] == status
    finally:
        await running.server.close()
