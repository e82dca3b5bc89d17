"""Two of our connectors on loopback: catalog, negotiation and transfer, end to end.

The provider and the consumer authenticate each other with fixed tokens
(the DCP seam's development implementation). Each test registers its own
datasets, so tests share the two servers but not their data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.settings import FixedCaller
from policies import to_dsp
from policies.presets import plan_offer, purchase
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"
PARKING = "urn:product:parking"
MONTHLY = "urn:plan:parking-monthly"
PER_USE = "urn:plan:parking-per-use"


def _requires(credential: str) -> dict[str, Any]:
    return {"profile": PROFILE, "permission": [{"action": "use", "constraint": [
        {"leftOperand": "dst:credentialType", "operator": "eq", "rightOperand": credential}]}]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(
    module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningConnector, RunningConnector]]:
    """A provider and a consumer that know each other's tokens."""
    tmp = tmp_path_factory.mktemp("e2e")
    provider = await start_connector(connector_settings(
        "provider", tmp, module_stores(),
        tokens={"consumer-token": FixedCaller(
            id="did:web:consumer.example",
            credential_types=["MembershipCredential", "DataProductPurchaseCredential"],
            claims={"MembershipCredential": {"memberOf": "dataspace"},
                    # bought the parking product on the monthly plan
                    "DataProductPurchaseCredential": {"product": PARKING, "plan": MONTHLY}})},
        outbound_token="provider-token", catalog_page_size=3,
    ))
    consumer = await start_connector(connector_settings(
        "consumer", tmp, module_stores(),
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")},
        outbound_token="consumer-token", role="consumer",
        jobs={"poll_seconds": 0.2, "max_attempts": 2, "base_backoff_seconds": 0.05},
    ))
    yield provider, consumer
    await consumer.stop()
    await provider.stop()


async def _dataset(provider: RunningConnector, http: aiohttp.ClientSession, dataset_id: str,
                   **fields: Any) -> dict[str, Any]:
    body = {"id": dataset_id, "title": f"Dataset {dataset_id}",
            "backend": {"address": "https://backend.invalid/data",
                        "properties": {"Authorization": "Basic c2VjcmV0"}}} | fields
    created = await provider.api(http, "POST", "/api/v1/datasets", json=body, expect=201)
    return dict(created)


async def _negotiate(consumer: RunningConnector, provider: RunningConnector,
                     http: aiohttp.ClientSession, dataset_id: str) -> dict[str, Any]:
    started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
        "counterparty_address": provider.dsp_url, "dataset_id": dataset_id})
    assert started["state"] == "REQUESTED"
    return dict(started)


async def _provider_side(provider: RunningConnector, http: aiohttp.ClientSession,
                         consumer_pid: str) -> dict[str, Any]:
    """The provider's negotiation for our consumer pid (once the request has arrived)."""
    for _ in range(500):
        items = (await provider.api(http, "GET",
                                    "/api/v1/negotiations?role=provider&limit=500",
                                    expect=200))["items"]
        found = [n for n in items if n["consumer_pid"] == consumer_pid]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.01)
    raise AssertionError(f"the provider never saw {consumer_pid}")


async def _restricted_request(pair: tuple[RunningConnector, RunningConnector],
                              http: aiohttp.ClientSession,
                              dataset_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A RESTRICTED dataset the consumer has asked for: both sides' negotiations."""
    provider, consumer = pair
    await _dataset(provider, http, dataset_id, access_level="RESTRICTED")
    started = await _negotiate(consumer, provider, http, dataset_id)
    await consumer.wait_for(http, "negotiations", started["id"], {"REQUESTED"})
    return started, await _provider_side(provider, http, started["id"])


async def test_green_dataset_is_negotiated_and_pulled(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    payload = b'[{"station": "Halden", "vehicles": 1234}]'
    seen: list[dict[str, str]] = []

    async def serve(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "authorization":
                     request.headers.get("Authorization", "")})
        return web.Response(body=payload, content_type="application/json")

    backend = web.Application()
    backend.router.add_get("/data", serve)
    server = TestServer(backend, host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        await _green_dataset_is_negotiated_and_pulled(
            provider, consumer, http, f"http://127.0.0.1:{server.port}/data", payload, seen)
    finally:
        await server.close()


async def _green_dataset_is_negotiated_and_pulled(
    provider: RunningConnector, consumer: RunningConnector, http: aiohttp.ClientSession,
    backend: str, payload: bytes, seen: list[dict[str, str]],
) -> None:
    await _dataset(provider, http, "urn:green:1", keywords=["traffic"], backend={
        "address": backend, "properties": {"header.Authorization": "Basic c2VjcmV0"}})
    started = await _negotiate(consumer, provider, http, "urn:green:1")
    done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    other = await _provider_side(provider, http, started["id"])
    assert other["state"] == "FINALIZED"
    assert other["agreement_id"] == done["agreement_id"]
    agreement = await consumer.api(http, "GET", f"/api/v1/agreements/{done['agreement_id']}",
                                   expect=200)
    assert agreement["policy"]["target"] == "urn:green:1"
    assert agreement["policy"]["assignee"] == "did:web:consumer.example"
    assert agreement["policy"]["assigner"] == "did:web:provider.example"

    transfer = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                  json={"agreement_id": done["agreement_id"]})
    await consumer.wait_for(http, "transfers", transfer["id"], {"STARTED"})
    edr = await consumer.api(http, "GET", f"/api/v1/transfers/{transfer['id']}/edr",
                             expect=200)
    assert edr["endpoint"] == provider.base_url + "/data"
    assert edr["auth_type"] == "bearer"
    header = jwt.get_unverified_header(edr["token"])
    claims = jwt.decode(edr["token"], options={"verify_signature": False})
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == "did:web:consumer.example"
    assert claims["agreement_id"] == done["agreement_id"]
    assert claims["exp"] - claims["iat"] <= provider.settings.edr_token_seconds

    # The consumer pulls through the provider's data plane: the backend's bytes come
    # back, and the backend got the dataset's own credentials, not the consumer's token.
    async with http.get(edr["endpoint"], headers={"Authorization": f"Bearer {edr['token']}"}
                        ) as response:
        assert response.status == 200, await response.text()
        assert await response.read() == payload
    assert seen == [{"path": "/data", "authorization": "Basic c2VjcmV0"}]

    await consumer.api(http, "POST", f"/api/v1/transfers/{transfer['id']}/complete",
                       expect=200)
    provider_transfers = (await provider.api(
        http, "GET", f"/api/v1/transfers?agreement_id={done['agreement_id']}",
        expect=200))["items"]
    assert provider_transfers[0]["role"] == "provider"
    await provider.wait_for(http, "transfers", provider_transfers[0]["id"], {"COMPLETED"})
    # The data plane stops serving a completed transfer: its token is dead. The state is
    # committed first and the data plane told right after, so allow it a moment.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        served = len(seen)
        async with http.get(edr["endpoint"],
                            headers={"Authorization": f"Bearer {edr['token']}"}) as response:
            if response.status in (401, 403):
                break
            assert response.status == 200
        assert asyncio.get_running_loop().time() < deadline, "still served after completion"
        await asyncio.sleep(0.05)
    assert len(seen) == served  # the refused call never reached the backend


async def test_the_backend_never_leaves_the_provider(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    await _dataset(provider, http, "urn:green:secret")
    dataset = await consumer.api(http, "POST", "/api/v1/catalog/dataset", expect=200, json={
        "counterparty_address": provider.dsp_url, "dataset_id": "urn:green:secret"})
    own = await provider.api(http, "GET", "/api/v1/datasets/urn:green:secret", expect=200)
    for text in (str(dataset), str(own)):
        assert "backend.invalid" not in text
        assert "c2VjcmV0" not in text


async def test_yellow_dataset_waits_for_the_owner_then_is_approved(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    await _dataset(provider, http, "urn:yellow:1", access_level="RESTRICTED")
    started = await _negotiate(consumer, provider, http, "urn:yellow:1")
    waiting = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner&limit=500",
                                 expect=200)
    for _ in range(200):
        if any(n["consumer_pid"] == started["id"] for n in waiting["items"]):
            break
        await asyncio.sleep(0.01)
        waiting = await provider.api(http, "GET",
                                     "/api/v1/negotiations?awaiting=owner&limit=500",
                                     expect=200)
    other = next(n for n in waiting["items"] if n["consumer_pid"] == started["id"])
    assert other["state"] == "REQUESTED"
    assert other["caller"]["id"] == "did:web:consumer.example"
    assert "MembershipCredential" in other["caller"]["credentialTypes"]
    await provider.api(http, "POST", f"/api/v1/negotiations/{other['id']}/approve", expect=200)
    await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    await provider.wait_for(http, "negotiations", other["id"], {"FINALIZED"})


async def test_counter_offer_waits_for_the_consumer_owner(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    started, other = await _restricted_request(pair, http, "urn:yellow:2")
    await provider.wait_for(http, "negotiations", other["id"], {"REQUESTED"})
    terms = _requires("MembershipCredential")
    await provider.api(http, "POST", f"/api/v1/negotiations/{other['id']}/counter-offer",
                       json={"policy": terms}, expect=200)
    offered = await consumer.wait_for(http, "negotiations", started["id"], {"OFFERED"})
    assert offered["offer"]["permission"] == terms["permission"]
    # Different terms than asked for: the consumer's owner decides.
    for _ in range(100):
        offered = await consumer.api(http, "GET", f"/api/v1/negotiations/{started['id']}",
                                     expect=200)
        if offered["awaiting"] == "owner":
            break
        await asyncio.sleep(0.01)
    assert offered["awaiting"] == "owner"
    await consumer.api(http, "POST", f"/api/v1/negotiations/{started['id']}/accept",
                       expect=200)
    await provider.wait_for(http, "negotiations", other["id"], {"ACCEPTED", "AGREED",
                                                                 "VERIFIED", "FINALIZED"})
    await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})


async def test_owner_terminates_and_the_peer_follows(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    started, other = await _restricted_request(pair, http, "urn:yellow:3")
    await provider.api(http, "POST", f"/api/v1/negotiations/{other['id']}/terminate",
                       json={"code": "not-approved", "reason": "no"}, expect=200)
    ended = await consumer.wait_for(http, "negotiations", started["id"], {"TERMINATED"})
    assert ended["error_code"] == "not-approved"
    again = await provider.api(http, "POST", f"/api/v1/negotiations/{other['id']}/approve")
    assert again["code"] == "illegal-transition"


async def test_policy_met_by_verified_claims_is_agreed_automatically(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    await _dataset(provider, http, "urn:members:1", policy=_requires("MembershipCredential"))
    await _dataset(provider, http, "urn:buyers:1", policy=_requires("DataProductPurchase"))
    member = await _negotiate(consumer, provider, http, "urn:members:1")
    buyer = await _negotiate(consumer, provider, http, "urn:buyers:1")
    await consumer.wait_for(http, "negotiations", member["id"], {"FINALIZED"})
    other = await _provider_side(provider, http, buyer["id"])
    for _ in range(200):
        other = await provider.api(http, "GET", f"/api/v1/negotiations/{other['id']}",
                                   expect=200)
        if other["awaiting"] == "owner":
            break
        await asyncio.sleep(0.01)
    assert other["state"] == "REQUESTED"
    assert other["awaiting"] == "owner"


async def test_a_purchase_opens_only_the_offer_of_the_plan_bought(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    """The consumer bought parking monthly: the pay-per-use offer is not agreed for it."""
    provider, consumer = pair
    for plan in (MONTHLY, PER_USE):
        offer = plan_offer(purchase(PARKING, plan=plan), offer_id=f"urn:offer:{plan}",
                           assigner=provider.plane.did)
        await _dataset(provider, http, f"urn:parking:{plan}",
                       policy=to_dsp(offer, context=False))
    bought = await _negotiate(consumer, provider, http, f"urn:parking:{MONTHLY}")
    other = await _negotiate(consumer, provider, http, f"urn:parking:{PER_USE}")
    await consumer.wait_for(http, "negotiations", bought["id"], {"FINALIZED"})
    theirs = await _provider_side(provider, http, other["id"])
    for _ in range(200):
        theirs = await provider.api(http, "GET", f"/api/v1/negotiations/{theirs['id']}",
                                    expect=200)
        if theirs["awaiting"] == "owner":
            break
        await asyncio.sleep(0.01)
    assert (theirs["state"], theirs["awaiting"]) == ("REQUESTED", "owner")


async def test_access_policy_hides_the_offer(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    created = await _dataset(provider, http, "urn:hidden:1")
    access = await provider.api(http, "POST", "/api/v1/policies", expect=201, json={
        "policy": _requires("OperatorCredential")})
    await provider.api(http, "DELETE", f"/api/v1/offers/{created['offer']['id']}", expect=204)
    hidden = await provider.api(http, "POST", "/api/v1/offers", expect=201, json={
        "dataset_id": "urn:hidden:1", "policy_id": created["offer"]["policy_id"],
        "access_policy_id": access["id"]})
    missing = await consumer.api(http, "POST", "/api/v1/catalog/dataset", json={
        "counterparty_address": provider.dsp_url, "dataset_id": "urn:hidden:1"})
    assert missing["code"] == "dataset-request-failed"
    started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
        "counterparty_address": provider.dsp_url, "counterparty_id": "did:web:provider.example",
        "offer": {"@id": hidden["id"], "@type": "Offer", "target": "urn:hidden:1",
                  "permission": [{"action": "use"}]}})
    ended = await consumer.wait_for(http, "negotiations", started["id"], {"TERMINATED"})
    assert ended["error_code"] == "delivery-failed"
    assert "unknown-offer" in ended["error_reason"]


async def test_catalog_pages_follow_next_links(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    for index in range(5):
        await _dataset(provider, http, f"urn:paged:{index}")
    seen: list[str] = []
    pages = 0
    query: dict[str, Any] = {"counterparty_address": provider.dsp_url}
    while True:
        page = await consumer.api(http, "POST", "/api/v1/catalog/request", json=query,
                                  expect=200)
        pages += 1
        seen += [d["@id"] for d in page["catalog"].get("dataset", [])]
        assert len(page["catalog"].get("dataset", [])) <= 3
        if page["next"] is None:
            break
        assert page["next"].startswith(provider.dsp_url + "/catalog/request?")
        query = {"counterparty_address": provider.dsp_url, "continuation": page["next"]}
    assert pages >= 2
    assert len(seen) == len(set(seen))
    assert {f"urn:paged:{i}" for i in range(5)} <= set(seen)


async def test_transfer_suspend_and_resume_by_either_owner(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    provider, consumer = pair
    await _dataset(provider, http, "urn:green:pause")
    started = await _negotiate(consumer, provider, http, "urn:green:pause")
    done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    transfer = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                  json={"agreement_id": done["agreement_id"]})
    await consumer.wait_for(http, "transfers", transfer["id"], {"STARTED"})
    theirs = (await provider.api(
        http, "GET", f"/api/v1/transfers?agreement_id={done['agreement_id']}",
        expect=200))["items"][0]
    await provider.api(http, "POST", f"/api/v1/transfers/{theirs['id']}/suspend",
                       json={"code": "maintenance"}, expect=200)
    await consumer.wait_for(http, "transfers", transfer["id"], {"SUSPENDED"})
    edr = await consumer.api(http, "GET", f"/api/v1/transfers/{transfer['id']}/edr")
    assert edr["code"] == "edr-not-available"
    await consumer.api(http, "POST", f"/api/v1/transfers/{transfer['id']}/resume", expect=200)
    await provider.wait_for(http, "transfers", theirs["id"], {"STARTED"})
    await provider.api(http, "POST", f"/api/v1/transfers/{theirs['id']}/terminate",
                       expect=200)
    await consumer.wait_for(http, "transfers", transfer["id"], {"TERMINATED"})


async def test_unreachable_provider_ends_in_termination(
    pair: tuple[RunningConnector, RunningConnector], http: aiohttp.ClientSession
) -> None:
    _provider, consumer = pair
    started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
        "counterparty_address": "http://127.0.0.1:9/dsp", "counterparty_id": "did:web:gone",
        "offer": {"@id": "urn:offer:x", "@type": "Offer", "target": "urn:x",
                  "permission": [{"action": "use"}]}})
    ended = await consumer.wait_for(http, "negotiations", started["id"], {"TERMINATED"},
                                    timeout=15)
    assert ended["error_code"] == "delivery-failed"
