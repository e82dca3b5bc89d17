"""The consumer's console pages, through the pages as a browser without JavaScript uses them.

A trust anchor, Halden kommune's connector (provider, enforcing data plane) and
Analyse AS's connector (consumer), both onboarded for real and speaking DCP. A
person of Analyse AS finds Halden among the members, opens its catalog, requests
an offer for a stated purpose, sees it wait for the owner's approval, sees it
agreed, starts a transfer, downloads through the console and reads the signed
receipt. Role and CSRF refusals, bad input (nothing stored) and the API routes
the pages stand on are checked too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio

from tests.connector.conftest import StoreFactory
from tests.connector.dataplane.harness import SMALL_BODY
from tests.connector.test_console_consumer_support import RESEARCH, Space, data_space
from tests.console_session import ConsoleSession, csrf_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

PURPOSE_POLICY = {"permission": [{"action": "use", "constraint": [
    {"leftOperand": "purpose", "operator": "isAnyOf",
     "rightOperand": [RESEARCH, "https://w3id.org/dpv#ServiceOptimisation"]}]}]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def space(module_stores: StoreFactory,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Space]:
    async with data_space(module_stores, tmp_path_factory.mktemp("consumer")) as running:
        await running.dataset("urn:halden:traffic", "Traffic counts", access_level="RESTRICTED")
        await running.dataset("urn:halden:parking", "Parking places", access_level="RESTRICTED")
        await running.dataset("urn:halden:air", "Air quality", policy=PURPOSE_POLICY)
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kari(space: Space) -> AsyncIterator[ConsoleSession]:
    """Analyse AS's domain lead (may request data)."""
    browser = await space.person(space.consumer, "kari@analyse.no", ("domain_lead",))
    yield browser
    await browser.close()


def _did(connector: Any) -> str:
    return str(connector.info["did"])


async def _negotiations(space: Space) -> list[dict[str, Any]]:
    body = await space.consumer.api(space.http, "GET", "/api/v1/negotiations?role=consumer",
                                    expect=200)
    return list(body["items"])


async def _owner_decides(space: Space, consumer_pid: str, verb: str,
                         body: dict[str, Any]) -> None:
    for _ in range(300):
        page = await space.provider.api(space.http, "GET",
                                        "/api/v1/negotiations?awaiting=owner", expect=200)
        found = [n for n in page["items"] if n["consumer_pid"] == consumer_pid]
        if found:
            await space.provider.api(space.http, "POST",
                                     f"/api/v1/negotiations/{found[0]['id']}/{verb}",
                                     expect=200, json=body)
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited for the provider's owner")


async def _until(browser: ConsoleSession, path: str, text: str) -> str:
    page = ""
    for _ in range(200):
        status, page = await browser.get(path)
        assert status == 200, page
        if text in page:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never showed on {path}")


async def test_find_request_wait_download_and_read_the_receipt(
        space: Space, kari: ConsoleSession) -> None:
    provider_did = _did(space.provider)
    status, page = await kari.get("/members")
    assert status == 200
    assert "Halden kommune" in page
    assert provider_did in page
    assert "Analyse AS" not in page  # a consumer only: not listed among providers
    _, found = await kari.get("/members?q=halden")
    assert "Halden kommune" in found
    _, none = await kari.get("/members?q=no-such-town")
    assert "Halden kommune" not in none
    assert "No provider matches" in none
    link = re.search(r'href="(/members/catalog\?did=[^"]+)"', page)
    assert link is not None

    status, catalog = await kari.get(link.group(1).replace("&amp;", "&"))
    assert status == 200, catalog
    assert "Catalog of Halden kommune" in catalog
    assert "Traffic counts" in catalog
    assert "Air quality" in catalog
    assert "Yellow: the owner approves each request" in catalog  # the traffic light, in words
    assert "Academic research" in catalog  # the purposes the air-quality offer allows

    traffic = re.search(r'name="dataset_id" value="urn:halden:traffic">\s*'
                        r'<input type="hidden" name="offer_id" value="([^"]+)"', catalog)
    assert traffic is not None
    fields = {"did": provider_did, "dataset_id": "urn:halden:traffic",
              "offer_id": traffic.group(1)}
    before = len(await _negotiations(space))
    status, refused, _ = await kari.submit(catalog, "/members/catalog/request", fields)
    assert status == 400
    assert "State the purpose of your request" in refused
    assert len(await _negotiations(space)) == before  # nothing sent, nothing stored

    status, sent, url = await kari.submit(catalog, "/members/catalog/request",
                                          {**fields, "purpose": "Planning bus routes"})
    assert status == 200, sent
    assert "/negotiations/" in url
    assert "Planning bus routes" in sent  # the notice says what was stated
    assert "Waiting for the owner&#39;s approval" in sent or \
        "Waiting for the owner's approval" in sent
    mine = (await _negotiations(space))[0]
    assert mine["dataset_id"] == "urn:halden:traffic"
    _, listing = await kari.get("/negotiations")
    assert "urn:halden:traffic" in listing

    await _owner_decides(space, mine["id"], "approve", {"approver": "ola@halden.kommune.no"})
    agreed = await _until(kari, url, "Agreed: you may start a transfer")
    status, downloads, url = await kari.submit(agreed, url.split(
        space.consumer.management_url)[1] + "/transfer")
    assert status == 200, downloads
    assert url.endswith("/downloads")
    transfers = await space.consumer.api(space.http, "GET", "/api/v1/transfers?role=consumer",
                                         expect=200)
    transfer_id = transfers["items"][0]["id"]
    await space.consumer.wait_for(space.http, "transfers", transfer_id, {"STARTED"})
    downloads = await _until(kari, "/downloads", "Download the data")

    action = f"/downloads/{transfer_id}/download"
    status, refused, _ = await kari.submit(downloads, action, {"purpose": ""})
    assert status == 400
    assert "State the purpose of this download" in refused
    async with kari.http.post(kari.url(action), data={
            "csrf_token": csrf_of(downloads), "purpose": "Planning bus routes"}) as resp:
        assert resp.status == 200
        assert "attachment" in resp.headers["Content-Disposition"]
        assert await resp.read() == SMALL_BODY

    status, shown, url = await kari.submit(downloads, f"/downloads/{transfer_id}/receipt")
    assert status == 200, shown
    assert "/downloads/receipts/" in url
    assert "Signature verified" in shown
    assert "Halden kommune" in shown
    receipts = await space.consumer.api(space.http, "GET",
                                        f"/api/v1/receipts?transfer_id={transfer_id}",
                                        expect=200)
    assert receipts["items"][0]["verified"] is True
    assert receipts["items"][0]["content"]["usage"]["requests"] >= 1
    _, downloads = await kari.get("/downloads")
    assert "Verified" in downloads
    assert "from the latest receipt" in downloads


async def test_a_refusal_shows_its_reason(space: Space, kari: ConsoleSession) -> None:
    provider_did = _did(space.provider)
    _, catalog = await kari.get(f"/members/catalog?did={quote(provider_did)}")
    offer = re.search(r'name="dataset_id" value="urn:halden:parking">\s*'
                      r'<input type="hidden" name="offer_id" value="([^"]+)"', catalog)
    assert offer is not None
    status, page, url = await kari.submit(catalog, "/members/catalog/request", {
        "did": provider_did, "dataset_id": "urn:halden:parking", "offer_id": offer.group(1),
        "purpose": "Curiosity"})
    assert status == 200, page
    mine = next(n for n in await _negotiations(space) if n["dataset_id"] == "urn:halden:parking")
    await _owner_decides(space, mine["id"], "reject", {"reason": "only for municipalities"})
    refused = await _until(kari, url, "Refused or ended")
    assert "only for municipalities" in refused


async def test_an_offer_that_names_purposes_takes_only_those(
        space: Space, kari: ConsoleSession) -> None:
    provider_did = _did(space.provider)
    _, catalog = await kari.get(f"/members/catalog?did={quote(provider_did)}")
    offer = re.search(r'name="dataset_id" value="urn:halden:air">\s*'
                      r'<input type="hidden" name="offer_id" value="([^"]+)"', catalog)
    assert offer is not None
    fields = {"did": provider_did, "dataset_id": "urn:halden:air", "offer_id": offer.group(1)}
    before = len(await _negotiations(space))
    status, page, _ = await kari.submit(catalog, "/members/catalog/request",
                                        {**fields, "purpose": "Marketing"})
    assert status == 400
    assert "Choose one of the purposes the offer allows" in page
    assert len(await _negotiations(space)) == before
    status, page, url = await kari.submit(catalog, "/members/catalog/request",
                                          {**fields, "purpose": RESEARCH})
    assert status == 200, page
    assert "/negotiations/" in url
    assert "Academic research" in page


async def test_roles_csrf_and_bad_input(space: Space) -> None:
    provider_did = _did(space.provider)
    viewer = await space.person(space.consumer, "vera@analyse.no", ("viewer",))
    try:
        status, catalog = await viewer.get(f"/members/catalog?did={quote(provider_did)}")
        assert status == 200
        assert "Request “" not in catalog  # no request form for a viewer
        assert "needs the role" in catalog
        status, page, _ = await viewer.submit(catalog.replace("<form", "<form", 1),
                                              "/members/catalog/request",
                                              {"did": provider_did, "purpose": "x"})
        assert status == 403
        async with viewer.http.post(viewer.url("/members/catalog/request"),
                                    data={"did": provider_did}) as resp:
            assert resp.status == 403  # no CSRF token
        status, page = await viewer.get("/members/catalog?did=not-a-did")
        assert status == 400
        status, page = await viewer.get("/members/catalog?did=did:web:nobody.example")
        assert status == 404
        assert "not an active member" in page
        status, page = await viewer.get("/negotiations/urn:none")
        assert status == 404
        status, page = await viewer.get("/downloads/receipts/urn:none")
        assert status == 404
    finally:
        await viewer.close()


async def test_member_catalog_api(space: Space) -> None:
    consumer, http = space.consumer, space.http
    found = await consumer.api(http, "POST", "/api/v1/members/catalog", expect=200,
                               json={"did": _did(space.provider)})
    assert found["member"]["legal_name"] == "Halden kommune"
    assert found["address"] == space.provider.dsp_url
    assert {d["@id"] for d in found["catalog"]["dataset"]} >= {"urn:halden:traffic"}
    for body, status, code in (({"did": "nope"}, 400, "validation-failed"),
                               ({}, 400, "validation-failed"),
                               ({"did": "did:web:x", "extra": 1}, 400, "validation-failed"),
                               ({"did": "did:web:nobody.example"}, 404, "member-not-found")):
        async with http.post(consumer.management_url + "/api/v1/members/catalog", json=body,
                             headers=consumer.admin_headers) as resp:
            problem = await resp.json()
            assert resp.status == status, problem
            assert resp.content_type == "application/problem+json"
            assert problem["code"] == code
