"""The data plane's own endpoints: decide/settle for an nginx front, receipts, and bad input."""

from __future__ import annotations

import aiohttp
import pytest
import sqlalchemy as sa

from connector.dataplane.store.tables import audit, counters, flows, usage
from connector.domain.catalog import Backend
from identity.jose import decode_jws, verify_jws
from policies.presets import calls_per_period, research_use
from servicekit.service_info import load_or_create_admin_key
from tests.connector.dataplane.harness import RESEARCH, Running, bearer, fetch
from tests.factories import CONSUMER, agreement, data_flow


def internal(dp: Running) -> dict[str, str]:
    """The internal key header (the connector's admin key)."""
    return {"X-Dataplane-Key": load_or_create_admin_key(dp.settings.data_dir)}


async def stored(dp: Running) -> dict[str, int]:
    """Row counts of the data plane's tables (to show bad input changed nothing)."""
    await dp.plane.flush()
    async with dp.plane.db.connect() as conn:
        return {t.name: int((await conn.execute(sa.select(sa.func.count()).select_from(t)))
                            .scalar_one()) for t in (audit, counters, flows, usage)}


async def test_decide_and_settle_meter_like_the_proxy(dp: Running, api: Backend) -> None:
    edr = await dp.plane.signaling.start(data_flow(
        agreement(calls_per_period(2, "P3650D") + research_use()), api))
    async with aiohttp.ClientSession() as http:
        # a HEAD is decided, but settling it takes no use and meters nothing
        async with http.post(dp.base + "/dataplane/decide", headers=internal(dp), json={
            "token": edr.token, "purpose": RESEARCH, "method": "HEAD"}) as response:
            assert response.status == 200
            head = (await response.json())["ticket"]
        async with http.post(dp.base + "/dataplane/settle", headers=internal(dp), json={
            "ticket": head, "status": 200, "bytes": 0}) as response:
            assert response.status == 204
        # nginx auth_request style: no body, the original request in headers
        headers = {**internal(dp), **bearer(edr), "X-Purpose": RESEARCH,
                   "X-Original-URI": "/data/v1?x=1", "X-Original-Method": "GET"}
        async with http.post(dp.base + "/dataplane/decide", headers=headers) as response:
            assert response.status == 200
            assert response.headers["X-Dataplane-Decision"] == "allow"
            ticket = response.headers["X-Dataplane-Ticket"]
        # JSON style, and the second use of two
        async with http.post(dp.base + "/dataplane/decide", headers=internal(dp), json={
            "token": edr.token, "purpose": RESEARCH, "path": "v2"}) as response:
            assert response.status == 200
            second = (await response.json())["ticket"]
        async with http.post(dp.base + "/dataplane/decide", headers=internal(dp), json={
            "token": edr.token, "purpose": RESEARCH}) as response:
            assert response.status == 403
            assert response.headers["X-Dataplane-Decision"] == "deny"
        async with http.post(dp.base + "/dataplane/settle", headers=internal(dp), json={
            "ticket": ticket, "status": 200, "bytes": 1234}) as response:
            assert response.status == 204
        # the second response failed: its use comes back and can be taken again
        async with http.post(dp.base + "/dataplane/settle", headers=internal(dp), json={
            "ticket": second, "status": 502, "bytes": 0, "failed": True}) as response:
            assert response.status == 204
        await dp.plane.counters.tick()
        async with http.post(dp.base + "/dataplane/decide", headers=internal(dp), json={
            "token": edr.token, "purpose": RESEARCH}) as response:
            assert response.status == 200
        async with http.get(dp.base + "/dataplane/receipt", headers=bearer(edr)) as response:
            assert response.status == 200
            receipt = await response.json()
    assert receipt["content"]["usage"] == {"requests": 1, "bytes": 1234, "failures": 1,
                                         "refusals": 1}
    jws = decode_jws(receipt["receipt"], typ={"usage-receipt+jwt"})
    verify_jws(jws, dp.plane.signer.key.public_key)
    claims = jws.claims()
    assert claims["transferId"] == edr.transfer_id
    assert claims["sub"] == CONSUMER


@pytest.mark.parametrize(("body", "code"), [
    (b"{", "malformed-json"),
    (b'{"token": "x", "method": "DELETE"}', "validation-failed"),
    (b'{"token": "x", "surprise": 1}', "validation-failed"),
])
async def test_decide_rejects_bad_bodies(dp: Running, body: bytes, code: str) -> None:
    before = await stored(dp)
    async with aiohttp.ClientSession() as http:
        async with http.post(dp.base + "/dataplane/decide", data=body, headers={
            **internal(dp), "Content-Type": "application/json"}) as response:
            assert response.status == 400
            assert (await response.json(content_type=None))["code"] == code
    assert await stored(dp) == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"ticket": "not-a-ticket", "status": 200, "bytes": 1}, 400, "ticket-invalid"),
    ({"ticket": "eyJ0IjoxfQ", "status": 200, "bytes": 1}, 400, "ticket-invalid"),
    ({"ticket": "x", "status": 99, "bytes": 1}, 400, "validation-failed"),
    ({"ticket": "x", "status": 200, "bytes": -1}, 400, "validation-failed"),
])
async def test_settle_rejects_bad_input(dp: Running, body: dict[str, object], status: int,
                                        code: str) -> None:
    before = await stored(dp)
    async with aiohttp.ClientSession() as http:
        async with http.post(dp.base + "/dataplane/settle", json=body,
                             headers=internal(dp)) as response:
            assert response.status == status
            assert (await response.json(content_type=None))["code"] == code
    assert await stored(dp) == before


async def test_internal_endpoints_need_the_internal_key(dp: Running) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/dataplane/decide", "/dataplane/settle"):
            for headers in ({}, {"X-Dataplane-Key": "dsk_wrong"}):
                async with http.post(dp.base + path, json={}, headers=headers) as response:
                    assert response.status == 401
                    assert (await response.json(content_type=None))["code"] == \
                        "internal-key-required"


@pytest.mark.parametrize("authorization", [
    None, "Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer e30.e30.e30",
])
async def test_data_refresh_and_receipt_refuse_bad_tokens(dp: Running,
                                                          authorization: str | None) -> None:
    before = await stored(dp)
    headers = {"Authorization": authorization} if authorization else {}
    async with aiohttp.ClientSession() as http:
        for method, path in (("GET", "/data"), ("GET", "/data/x"), ("HEAD", "/data"),
                             ("POST", "/dataplane/refresh"), ("GET", "/dataplane/receipt")):
            async with http.request(method, dp.base + path, headers=headers) as response:
                assert response.status == 401, (method, path)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                if method != "HEAD":
                    problem = await response.json(content_type=None)
                    assert problem["code"] in ("access-token-missing", "access-token-invalid")
    assert await stored(dp) == before


async def test_a_token_for_another_audience_or_tampered_is_refused(
    dp: Running, api: Backend
) -> None:
    edr = await dp.plane.signaling.start(data_flow(agreement(research_use()), api))
    header, payload, signature = edr.token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    async with aiohttp.ClientSession() as http:
        status, _ = await fetch(http, dp.url, {**bearer(forged), "X-Purpose": RESEARCH})
        assert status == 401
        status, _ = await fetch(http, dp.url, {**bearer(edr), "X-Purpose": RESEARCH})
        assert status == 200


async def test_openapi_describes_every_data_plane_route(dp: Running) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(dp.base + "/openapi.json") as response:
            document = await response.json()
    paths = document["paths"]
    for path in ("/data", "/data/{tail}", "/dataplane/refresh", "/dataplane/receipt",
                 "/dataplane/decide", "/dataplane/settle"):
        assert path in paths, path
    assert "requestBody" in paths["/dataplane/settle"]["post"]
