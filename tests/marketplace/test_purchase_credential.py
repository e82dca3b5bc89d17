"""A purchase credential, from issue to revocation, between real services over real DCP.

A trust anchor, a marketplace onboarded there with the role ``marketplace``
(so the registry accredits it for DataProductPurchaseCredential), a provider
and a buyer connector (both onboarded; did:web on 127.0.0.1). The provider
offers a dataset only to holders of a purchase credential naming its
product. The marketplace's :class:`~marketplace.services.purchases.Purchases`
issues one (in an order's transaction, as the ordering service does),
offers it to the buyer's Credential Service, and delivers it when the
buyer's connector asks; the buyer then negotiates and pulls. Revoking it
ends the running transfer within one status refresh (1 s here).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.keys import SERVICES as CONNECTOR_SERVICES
from connector.settings import AuthSettings, DcpSettings
from identity import create_self_issued_token, decode_jws
from identity.dcp import credential_offer_message
from identity.status_store import IssuedCredential
from marketplace.keys import SERVICES
from marketplace.services.purchases import PURCHASE_CREDENTIAL
from policies.presets import AccessLevel, traffic_light_offer
from policies.serialize import to_dsp
from servicekit.app import DB_ENGINE, SERVICE_INFO
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory, module_stores  # noqa: F401 (a fixture)
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings, marketplace_settings, trust_anchor_settings
from tests.marketplace.conftest import Marketplace, serving
from trust_anchor.app import create_app as create_trust_anchor

pytestmark = pytest.mark.asyncio(loop_scope="module")

PRODUCT = "urn:product:traffic-counts"
PAYLOAD = b'[{"station": "Halden", "vehicles": 1234}]'


@dataclass
class World:
    """The running services, and the operator's and the marketplace's handles on them."""

    http: aiohttp.ClientSession
    ta_url: str
    ta_admin: dict[str, str]
    backend: str
    marketplace: Marketplace
    rogue: Marketplace
    provider: RunningConnector = field(init=False)
    buyer: RunningConnector = field(init=False)

    async def ta(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.ta_url + path, json=body,
                                     headers=self.ta_admin) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json()

    async def issue(self, market: Marketplace, order_id: str, **claims: Any) -> IssuedCredential:
        """Issue in an order's transaction, as the ordering service does, then wake the jobs."""
        purchases = market.server.app[SERVICES].purchases
        terms: dict[str, Any] = {
            "buyer_did": self.buyer.plane.did, "product_id": PRODUCT,
            "offering_id": "urn:offering:traffic", "offering_version": "1.0",
            "plan_id": "monthly", "valid_until": datetime.now(UTC) + timedelta(days=30),
            "limits": {"calls": 1000, "period": "P1M"}, "order_id": order_id} | claims
        async with market.server.app[DB_ENGINE].begin() as conn:
            issued = await purchases.issue(conn, **terms)
        purchases.wake()
        return issued

    async def revoke(self, order_id: str, reason: str) -> list[str]:
        purchases = self.marketplace.server.app[SERVICES].purchases
        async with self.marketplace.server.app[DB_ENGINE].begin() as conn:
            return list(await purchases.revoke(conn, order_id=order_id, reason=reason))

    async def held(self) -> list[dict[str, Any]]:
        """The buyer's purchase credentials, as its management API lists them."""
        body = await self.buyer.api(self.http, "GET",
                                    f"/api/v1/credentials?type={PURCHASE_CREDENTIAL}",
                                    expect=200)
        return list(body["items"])


def _application(legal_name: str, roles: list[str]) -> dict[str, Any]:
    return {"legal_name": legal_name, "organisation_number": "912 345 678", "country": "NO",
            "contact": {"name": "Data team", "email": "data@example.no"}, "roles": roles}


async def _onboard_connector(world: World, connector: RunningConnector, name: str) -> None:
    applied = await connector.api(world.http, "POST", "/api/v1/membership/apply", expect=201,
                                  json=_application(name, ["provider", "consumer"]))
    approved = await world.ta("POST", f"/admin/applications/{applied['application_id']}/approve",
                              {"reason": "ok"})
    await connector.api(world.http, "POST", "/api/v1/membership/collect", expect=201,
                        json={"tx_code": approved["tx_code"]})


async def _onboard_marketplace(world: World, ta_did: str) -> None:
    """The marketplace applies with its own DID, proving control of it, and is approved."""
    identity = world.marketplace.server.app[SERVICE_INFO]
    signer = world.marketplace.server.app[SERVICES].purchases.issuer.identity.signer
    async with world.http.post(world.ta_url + "/applications/challenge",
                               json={"did": identity["did"]}) as resp:
        challenge = (await resp.json())["challenge"]
    proof = create_self_issued_token(signer, ta_did, extra_claims={"nonce": challenge})
    async with world.http.post(world.ta_url + "/applications", json={
            **_application("Datatorget AS", ["marketplace"]), "did": identity["did"],
            "proof": proof}) as resp:
        assert resp.status == 201, await resp.text()
        application = await resp.json()
    await world.ta("POST", f"/admin/applications/{application['id']}/approve", {"reason": "ok"})


async def _backend() -> TestServer:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=PAYLOAD, content_type="application/json")

    app = web.Application()
    app.router.add_get("/data", serve)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    return server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_stores: StoreFactory,  # noqa: F811 (the imported fixture)
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("purchase")
    port = free_port()
    ta_settings = trust_anchor_settings(tmp, module_stores(), port)
    ta = TestServer(create_trust_anchor(ta_settings), host="127.0.0.1", port=port)
    await ta.start_server()
    backend = await _backend()
    info = ta.app[SERVICE_INFO]
    started: list[RunningConnector] = []
    try:
        async with (
            serving(marketplace_settings(tmp, module_stores(), free_port(),
                                         trust_anchor_url=ta_settings.base_url,
                                         status_list_max_age=1)) as market,
            serving(marketplace_settings(tmp / "rogue", module_stores(), free_port(),
                                         trust_anchor_url=ta_settings.base_url)) as rogue,
            aiohttp.ClientSession() as http,
        ):
            world = World(http, ta_settings.base_url,
                          {"Authorization": f"Bearer {info['admin_api_key']}"},
                          f"http://127.0.0.1:{backend.port}/data", market, rogue)
            for name in ("provider", "buyer"):
                connector = await start_connector(connector_settings(
                    name, tmp, module_stores(), did=None, did_method="web",
                    trust_anchor_url=ta_settings.base_url,
                    auth=AuthSettings(dcp=DcpSettings(status_list_ttl=1.0, registry_ttl=1.0)),
                    jobs={"poll_seconds": 0.2, "max_attempts": 2,
                          "base_backoff_seconds": 0.05}))
                started.append(connector)
                await _onboard_connector(world, connector, f"{name.title()} AS")
            world.provider, world.buyer = started
            await _onboard_marketplace(world, info["did"])
            yield world
    finally:
        for connector in reversed(started):
            await connector.stop()
        await backend.close()
        await ta.close()


async def _purchase_dataset(world: World, dataset_id: str) -> None:
    offer = traffic_light_offer(AccessLevel.RESTRICTED, offer_id=f"{dataset_id}:offer",
                                assigner=world.provider.plane.did, product=PRODUCT,
                                approval=False)
    await world.provider.api(world.http, "POST", "/api/v1/datasets", expect=201, json={
        "id": dataset_id, "title": "Traffic counts", "backend": {"address": world.backend},
        "policy": to_dsp(offer, context=False)})


async def _negotiate(world: World, dataset_id: str, states: set[str]) -> dict[str, Any]:
    started = await world.buyer.api(world.http, "POST", "/api/v1/negotiations", expect=201,
                                    json={"counterparty_address": world.provider.dsp_url,
                                          "dataset_id": dataset_id})
    return dict(await world.buyer.wait_for(world.http, "negotiations", started["id"], states))


async def _until(check: Any, timeout: float = 8.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


# --- the tests ---------------------------------------------------------------------------


async def test_the_registry_accredits_the_onboarded_marketplace_for_purchases(
    world: World,
) -> None:
    entry = await world.ta("GET", f"/v4/issuers/{quote(world.marketplace.did, safe='')}")
    [attribute] = entry["attributes"]
    assert attribute["issuerType"] == "TI"
    accreditation = decode_jws(base64.b64decode(attribute["body"]).decode()).claims()
    assert PURCHASE_CREDENTIAL in accreditation["credentialSubject"]["accreditedFor"][0]["types"]
    # What a connector asks before it takes a purchase credential from an issuer.
    registry = world.provider.app[CONNECTOR_SERVICES].holder.trust.registry
    assert registry is not None
    assert await registry.is_trusted(world.marketplace.did, PURCHASE_CREDENTIAL)
    assert not await registry.is_trusted(world.rogue.did, PURCHASE_CREDENTIAL)
    async with world.http.get(
            world.ta_url + f"/v4/issuers/{quote(world.rogue.did, safe='')}") as resp:
        assert resp.status == 404


async def test_a_buyer_negotiates_and_pulls_after_delivery_and_loses_it_on_revocation(
    world: World,
) -> None:
    await _purchase_dataset(world, "urn:paid:1")
    refused = await _negotiate(world, "urn:paid:1", {"TERMINATED"})
    assert "credential-missing" in refused["error_reason"]

    issued = await world.issue(world.marketplace, "order-1")
    [held] = await _until(world.held)
    assert held["credential_id"] == issued.id
    assert held["issuer"] == world.marketplace.did
    assert held["source"] == "dcp"
    assert held["claims"] == {
        "id": world.buyer.plane.did, "product": PRODUCT, "offering": "urn:offering:traffic",
        "offeringVersion": "1.0", "plan": "monthly", "order": "order-1",
        "limits": {"calls": 1000, "period": "P1M"}}
    claims = decode_jws(issued.token).claims()
    assert decode_jws(issued.token).header["typ"] == "vc+jwt"
    [revocation, _] = claims["credentialStatus"]
    assert revocation["statusListCredential"].startswith(world.marketplace.url + "/status/")

    done = await _negotiate(world, "urn:paid:1", {"FINALIZED"})
    transfer = await world.buyer.api(world.http, "POST", "/api/v1/transfers", expect=201,
                                     json={"agreement_id": done["agreement_id"]})
    await world.buyer.wait_for(world.http, "transfers", transfer["id"], {"STARTED"})
    edr = await world.buyer.api(world.http, "GET", f"/api/v1/transfers/{transfer['id']}/edr",
                                expect=200)
    async with world.http.get(edr["endpoint"],
                              headers={"Authorization": f"Bearer {edr['token']}"}) as resp:
        assert resp.status == 200, await resp.text()
        assert await resp.read() == PAYLOAD

    assert await world.revoke("order-1", "cancelled") == [issued.id]
    assert await world.revoke("order-1", "cancelled") == []  # once is enough
    ended = await world.buyer.wait_for(world.http, "transfers", transfer["id"],
                                       {"TERMINATED"}, timeout=8.0)
    assert ended["error_code"] == "credential-revoked"
    again = await _negotiate(world, "urn:paid:1", {"TERMINATED"})
    assert "revoked" in again["error_reason"]


async def test_after_a_cancelled_purchase_a_new_one_is_honoured(world: World) -> None:
    # The buyer's store keeps the cancelled order's credential next to the new one: its
    # Credential Service presents the new one only, and the provider takes it.
    await _purchase_dataset(world, "urn:paid:again")

    async def holds(credential_id: str) -> bool:
        return any(c["credential_id"] == credential_id for c in await world.held())

    cancelled = await world.issue(world.marketplace, "order-cancelled")
    await _until(lambda: holds(cancelled.id))
    assert await world.revoke("order-cancelled", "cancelled") == [cancelled.id]
    renewed = await world.issue(world.marketplace, "order-renewed")
    await _until(lambda: holds(renewed.id))
    assert await holds(cancelled.id)
    await asyncio.sleep(1.5)  # every status list cache (1 s here) has seen the revocation
    done = await _negotiate(world, "urn:paid:again", {"FINALIZED", "TERMINATED"})
    assert done["state"] == "FINALIZED", done.get("error_reason")


async def test_an_offer_from_an_issuer_the_registry_does_not_accredit_is_refused(
    world: World,
) -> None:
    rogue = world.rogue.server.app[SERVICES].purchases
    message = credential_offer_message(world.rogue.did, [
        {"id": "urn:uuid:anything", "credentialType": PURCHASE_CREDENTIAL}])
    token = create_self_issued_token(rogue.issuer.identity.signer, world.buyer.plane.did)
    async with world.http.post(world.buyer.base_url + "/dcp/offers", json=message,
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == "issuer-not-trusted"
    before = await world.held()
    # The rogue's own job offers what it issued: refused the same way, nothing is stored.
    issued = await world.issue(world.rogue, "rogue-order")
    await asyncio.sleep(1.0)
    assert [c["credential_id"] for c in await world.held()] == \
        [c["credential_id"] for c in before]
    # Handed over by hand (in place of any other purchase), its credential does not
    # satisfy the provider either.
    for held in await world.held():
        await world.buyer.api(world.http, "DELETE", f"/api/v1/credentials/{held['id']}",
                              expect=204)
    await world.buyer.api(world.http, "POST", "/api/v1/credentials", expect=201,
                          json={"credential": issued.token})
    await _purchase_dataset(world, "urn:paid:rogue")
    refused = await _negotiate(world, "urn:paid:rogue", {"TERMINATED"})
    assert "issuer-not-trusted" in refused["error_reason"]


async def test_bad_requests_to_the_issuer_service_and_credential_service_store_nothing(
    world: World,
) -> None:
    market = world.marketplace
    async with world.http.post(market.url + "/dcp/issuer/credentials", json={}) as resp:
        assert resp.status == 401
        assert resp.content_type == "application/problem+json"
    status, body, _ = await market.call("GET", "/status/no-such-list")
    assert (status, body["code"]) == (404, "status-list-not-found")
    async with world.http.post(world.buyer.base_url + "/dcp/offers",
                               json={"type": "CredentialOfferMessage"}) as resp:
        assert resp.status == 401
    before = await world.held()
    signer = market.server.app[SERVICES].purchases.issuer.identity.signer
    token = create_self_issued_token(signer, world.buyer.plane.did)
    async with world.http.post(world.buyer.base_url + "/dcp/offers", json={"type": "nonsense"},
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 400
        assert resp.content_type == "application/problem+json"
    assert await world.held() == before


async def test_the_status_list_is_served_with_caching_headers(world: World) -> None:
    issued = await world.issue(world.marketplace, "order-cache")
    url = decode_jws(issued.token).claims()["credentialStatus"][0]["statusListCredential"]
    async with world.http.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/vc+jwt"
        assert resp.headers["Cache-Control"] == "public, max-age=1"
        etag = resp.headers["ETag"]
    async with world.http.get(url, headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
