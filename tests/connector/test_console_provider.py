"""The provider's console pages, through the real pages over HTTP (no JavaScript).

Halden's connector (its data plane enforcing) and a consumer, on SQLite and
PostgreSQL. People sign in through the one-time links the admin key makes;
the data owner publishes a yellow dataset with the policy form, the consumer
asks for it over DSP, and only the dataset's own data owner may decide the
request, on the page and through the API alike.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from connector.settings import FixedCaller
from servicekit.console.config import ConsoleSettings
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings
from tests.pages import BROWSER_ACCEPT

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEMBER = FixedCaller(id="did:web:consumer.example",
                     credential_types=["MembershipCredential"],
                     claims={"MembershipCredential": {"legalName": "Testfirma AS",
                                                      "organisationNumber": "999 999 999"}})
KARI = "kari@halden.kommune.no"
OLA = "ola@halden.kommune.no"
VERA = "vera@halden.kommune.no"
PASSWORD = "a long and memorable passphrase"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_FAST = ConsoleSettings(password_memory_kib=64, password_time_cost=1)


class Browser:
    """One person's browser on the management port: a cookie jar, forms, no JavaScript."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          headers={"Accept": BROWSER_ACCEPT})
        self.csrf = ""

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as resp:
            text = await resp.text()
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return resp.status, text

    async def post(self, path: str, fields: dict[str, str], *, csrf: bool = True
                   ) -> tuple[int, str]:
        data = {**fields, **({"csrf_token": self.csrf} if csrf else {})}
        async with self.http.post(self.base + path, data=data) as resp:
            text = await resp.text()
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return resp.status, text

    async def sign_in_with(self, link: str) -> str:
        """Open a one-time link, press its button, choose a password: the dashboard."""
        path = link[link.index("/link/"):]
        status, _ = await self.get(path)
        assert status == 200
        status, page = await self.post(path, {})
        assert status == 200
        assert "password" in page
        status, page = await self.post("/account/password",
                                       {"password": PASSWORD, "confirm": PASSWORD})
        assert status == 200, page
        return page


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def halden(module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[RunningConnector, RunningConnector]]:
    """Halden's connector (enforcing data plane, console) and a consumer."""
    tmp = tmp_path_factory.mktemp("provider-console")
    provider = await start_connector(connector_settings(
        "provider", tmp, module_stores(), signaling="data-plane",
        data_plane={"flush_seconds": 0.05}, tokens={"consumer-token": MEMBER},
        outbound_token="provider-token", console=_FAST))
    consumer = await start_connector(connector_settings(
        "consumer", tmp, module_stores(), role="consumer", outbound_token="consumer-token",
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")}))
    try:
        yield provider, consumer
    finally:
        await consumer.stop()
        await provider.stop()


async def _account(provider: RunningConnector, http: aiohttp.ClientSession, email: str,
                   roles: list[str]) -> dict[str, Any]:
    async with http.post(provider.management_url + "/api/v1/accounts", json={
            "email": email, "name": email.split("@")[0].title(), "roles": roles},
            headers=provider.admin_headers) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 201, body
    return body


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def people(halden: tuple[RunningConnector, RunningConnector]
                 ) -> AsyncIterator[dict[str, Browser]]:
    """Kari and Ola (data owners) and Vera (viewer), each signed in in a browser."""
    provider, _consumer = halden
    browsers: dict[str, Browser] = {}
    async with aiohttp.ClientSession() as http:
        for email, roles in ((KARI, ["data_owner"]), (OLA, ["data_owner"]),
                             (VERA, ["viewer"])):
            made = await _account(provider, http, email, roles)
            browser = Browser(provider.management_url)
            await browser.sign_in_with(made["signin_link"])
            browsers[email] = browser
    yield browsers
    for browser in browsers.values():
        await browser.http.close()


def _yellow(backend: TestServer, **extra: str) -> dict[str, str]:
    return {"id": "urn:halden:traffic", "title": "Traffic counts",
            "description": "Cars per hour at 40 counting points.", "keywords": "traffic, roads",
            "owner": KARI, "backend_type": "http",
            "backend_address": str(backend.make_url("/api/items")),
            "access_level": "RESTRICTED", "approval": "1",
            "licence": "http://publications.europa.eu/resource/authority/licence/NLOD_2_0",
            "calls": "1000", "period": "P1D", "purposes": "", "valid_from": "",
            "valid_until": "", "product": "", **extra}


async def _datasets(provider: RunningConnector, http: aiohttp.ClientSession) -> list[str]:
    listed = await provider.api(http, "GET", "/api/v1/datasets", expect=200)
    return [d["id"] for d in listed["items"]]


async def _waiting(provider: RunningConnector, http: aiohttp.ClientSession,
                   consumer_pid: str) -> dict[str, Any]:
    for _ in range(500):
        page = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner",
                                  expect=200)
        found = [n for n in page["items"] if n["consumer_pid"] == consumer_pid]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.02)
    raise AssertionError("the request never waited for the owner")


async def test_a_bad_dataset_form_is_refused_with_the_error_and_nothing_stored(
    halden: tuple[RunningConnector, RunningConnector], people: dict[str, Browser],
    backend: TestServer,
) -> None:
    provider, _ = halden
    kari = people[KARI]
    async with aiohttp.ClientSession() as http:
        before = await _datasets(provider, http)
        await kari.get("/datasets/new")
        for fields, shown in (
                (_yellow(backend, title="", id="urn:halden:bad1"), "title"),
                (_yellow(backend, calls="lots", id="urn:halden:bad2"), "Calls per period"),
                (_yellow(backend, approval="", id="urn:halden:bad3"),
                 "needs the owner&#39;s approval, a purchase, or both"),
                (_yellow(backend, owner=VERA, id="urn:halden:bad4"), "choose a data owner"),
                (_yellow(backend, backend_type="file", backend_address="/no/such/file",
                         id="urn:halden:bad5"), "no file or folder")):
            status, page = await kari.post("/datasets/new", {**fields, "step": "save"})
            assert status == 400, page
            assert "The dataset was not saved" in page
            assert shown in page, shown
            assert f'value="{fields["id"]}"' in page  # what was typed is kept
        assert await _datasets(provider, http) == before


async def test_forms_need_their_csrf_token_and_the_right_role(
    halden: tuple[RunningConnector, RunningConnector], people: dict[str, Browser],
    backend: TestServer,
) -> None:
    provider, _ = halden
    async with aiohttp.ClientSession() as http:
        before = await _datasets(provider, http)
        status, _ = await people[KARI].post(
            "/datasets/new", {**_yellow(backend, id="urn:halden:nocsrf"), "step": "save"},
            csrf=False)
        assert status == 403
        vera = people[VERA]
        await vera.get("/datasets")
        status, page = await vera.post(
            "/datasets/new", {**_yellow(backend, id="urn:halden:viewer"), "step": "save"})
        assert status == 403
        assert "role" in page
        assert await _datasets(provider, http) == before


async def test_publish_a_yellow_dataset_and_only_its_owner_approves_the_request(
    halden: tuple[RunningConnector, RunningConnector], people: dict[str, Browser],
    backend: TestServer,
) -> None:
    provider, consumer = halden
    kari, ola, vera = people[KARI], people[OLA], people[VERA]

    # preview: the ODRL, the plain words, nothing stored yet
    await kari.get("/datasets/new")
    status, page = await kari.post("/datasets/new", {**_yellow(backend), "step": "preview"})
    assert status == 200, page
    assert "<pre>" in page
    assert "obtainConsent" in page
    assert "Members of the data space may use this dataset" in page
    assert "at most 1,000 calls per day" in page
    status, page = await kari.post("/datasets/new", {**_yellow(backend), "step": "save"})
    assert status == 200, page
    assert "Published “Traffic counts”" in page
    assert "once the provider approves" in page  # the stored offer in plain words
    status, page = await vera.get("/datasets")
    assert status == 200
    assert "Traffic counts" in page
    assert "Yellow" in page
    assert KARI in page

    async with aiohttp.ClientSession() as http:
        started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
            "counterparty_address": provider.dsp_url, "dataset_id": "urn:halden:traffic"})
        waiting = await _waiting(provider, http, started["id"])
        nid = waiting["id"]

        status, page = await kari.get("/requests")
        assert status == 200
        assert "Testfirma AS" in page
        assert MEMBER.id in page
        assert "MembershipCredential" in page
        assert f"/requests/{nid}/approve" in page
        status, page = await ola.get("/requests")
        assert f"/requests/{nid}/approve" not in page  # not Ola's dataset: no buttons

        # a viewer, and a data owner of another dataset, are refused (page and API)
        status, _ = await vera.post(f"/requests/{nid}/approve", {})
        assert status == 403
        status, page = await ola.post(f"/requests/{nid}/approve", {})
        assert status == 403
        assert "data owner" in page
        accounts = await provider.api(http, "GET", "/api/v1/accounts", expect=200)
        ola_id = next(a["id"] for a in accounts if a["email"] == OLA)
        token = await provider.api(http, "POST", "/api/v1/tokens", expect=201, json={
            "account_id": ola_id, "name": "ola's script", "scopes": ["approve"]})
        async with http.post(provider.management_url + f"/api/v1/negotiations/{nid}/approve",
                             json={}, headers={"Authorization": f"Bearer {token['token']}"}
                             ) as resp:
            problem = await resp.json()
            assert resp.status == 403, problem
        assert problem["code"] == "not-dataset-owner"
        async with http.post(provider.management_url + f"/api/v1/negotiations/{nid}/reject",
                             json={"reason": "no"},
                             headers={"Authorization": f"Bearer {token['token']}"}) as resp:
            assert resp.status == 403
        # rejecting needs a reason: nothing changes without one
        status, page = await kari.post(f"/requests/{nid}/reject", {"reason": " "})
        assert status == 400
        assert "Say why you reject" in page
        assert (await provider.api(http, "GET", f"/api/v1/negotiations/{nid}",
                                   expect=200))["decision"] is None

        status, page = await kari.post(f"/requests/{nid}/approve", {})
        assert status == 200
        assert "Approved" in page
        done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
        shown = await provider.api(http, "GET", f"/api/v1/negotiations/{nid}", expect=200)
        assert shown["decision"]["approver"] == KARI

        status, page = await vera.get("/agreements")
        assert status == 200
        assert "urn:halden:traffic" in page
        status, page = await vera.get(f"/agreements/{done['agreement_id']}")
        assert status == 200
        assert "once the provider approves" in page
        assert "Terminate the agreement" not in page  # a viewer reads only
        status, page = await kari.get("/")
        assert status == 200
        assert "Dashboard" in page
        assert "live agreements" in page
        async with http.get(provider.management_url + "/") as resp:  # a script
            assert resp.content_type == "application/json"


async def test_the_other_pages_answer(
    halden: tuple[RunningConnector, RunningConnector], people: dict[str, Browser],
) -> None:
    kari, vera = people[KARI], people[VERA]
    for path, text in (("/transfers", "Transfers"), ("/audit", "Verify the whole chain"),
                       ("/audit?verify=1", "The chain is intact"),
                       ("/membership", "Credentials we hold")):
        status, page = await kari.get(path)
        assert status == 200, path
        assert text in page, path
    status, _ = await kari.get("/audit?decision=maybe")
    assert status == 400
    async with kari.http.get(kari.base + "/audit.csv") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/csv"
        assert (await resp.text()).startswith("seq,at,decision")
    status, _ = await vera.get("/audit")
    assert status == 403
