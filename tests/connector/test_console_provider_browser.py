"""Halden's data owner in a real browser: publish a yellow dataset, approve a request.

Through the pages only (the consumer asks over DSP, as another organisation
would), at a desktop and a phone width: nothing sticks out sideways, axe
finds no serious or critical violation, and each step leaves a screenshot.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from connector.settings import FixedCaller
from servicekit.console.config import ConsoleSettings
from tests.browser import (
    DESKTOP,
    PHONE,
    check_page,
    choose_password,
    follow_menu,
    new_page,
)
from tests.conftest import Database
from tests.connector.dataplane.harness import backend_app
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser

MEMBER = FixedCaller(id="did:web:consumer.example",
                     credential_types=["MembershipCredential"],
                     claims={"MembershipCredential": {"legalName": "Testfirma AS"}})
KARI = "kari@halden.kommune.no"


@asynccontextmanager
async def _halden(tmp_path: Path) -> AsyncIterator[tuple[RunningConnector, RunningConnector,
                                                         TestServer]]:
    """Halden's connector with its console, a consumer, and the API behind the data."""
    def db(name: str) -> Database:
        return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / name}.db")

    backend = TestServer(backend_app())
    await backend.start_server()
    provider = await start_connector(connector_settings(
        "provider", tmp_path, db("provider"), signaling="data-plane",
        data_plane={"flush_seconds": 0.05}, tokens={"consumer-token": MEMBER},
        outbound_token="provider-token",
        console=ConsoleSettings(password_memory_kib=64, password_time_cost=1)))
    consumer = await start_connector(connector_settings(
        "consumer", tmp_path, db("consumer"), role="consumer", outbound_token="consumer-token",
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")}))
    try:
        yield provider, consumer, backend
    finally:
        await consumer.stop()
        await provider.stop()
        await backend.close()


async def _check(page: Page, name: str) -> None:
    await check_page(page, "connector-provider-" + name)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_the_municipality_publishes_a_yellow_dataset_and_approves_a_request(
    browser: Browser, tmp_path: Path, width: int,
) -> None:
    from playwright.async_api import expect

    async with _halden(tmp_path) as (provider, consumer, backend), \
            aiohttp.ClientSession() as http:
        async with http.post(provider.management_url + "/api/v1/accounts", json={
                "email": KARI, "name": "Kari Nordmann", "roles": ["data_owner"]},
                headers=provider.admin_headers) as resp:
            link = (await resp.json())["signin_link"]
        page = await new_page(browser, width, javascript=False)

        # Kari opens her link and chooses a password
        await choose_password(page, link)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        await _check(page, "dashboard")

        # she publishes a yellow dataset with the policy form
        await follow_menu(page, "Datasets")
        await page.get_by_role("link", name="Publish a dataset").click()
        await page.get_by_label("Title", exact=True).fill("Traffic counts")
        await page.get_by_label("Description", exact=True).fill("Cars per hour, 40 points.")
        await page.get_by_label("Keywords", exact=True).fill("traffic, roads")
        await page.get_by_label("Data owner", exact=True).select_option(KARI)
        await page.get_by_label("Address", exact=True).fill(str(backend.make_url("/api/items")))
        await page.get_by_role("radio", name=re.compile("Yellow")).check()
        await page.get_by_label("At most this many calls").fill("1000")
        await page.get_by_label("Counted", exact=True).select_option("P1D")
        await page.get_by_role("button", name="Preview the policy").click()
        await expect(page.locator("#h-preview")).to_be_visible()
        await expect(page.get_by_text("at most 1,000 calls per day").first).to_be_visible()
        await _check(page, "dataset-preview")
        await page.get_by_role("button", name="Publish the dataset").click()
        await expect(page.get_by_role("status")).to_contain_text("Published “Traffic counts”")
        await expect(page.get_by_text("once the provider approves").first).to_be_visible()
        await _check(page, "dataset-published")

        # Testfirma AS asks for it; Kari approves on the Requests page
        dataset_id = (await provider.api(http, "GET", "/api/v1/datasets",
                                         expect=200))["items"][0]["id"]
        started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
            "counterparty_address": provider.dsp_url, "dataset_id": dataset_id})
        for _ in range(100):
            await follow_menu(page, "Requests")
            if await page.get_by_text("Testfirma AS").count():
                break
            await page.wait_for_timeout(100)
        await expect(page.get_by_text(MEMBER.id)).to_be_visible()
        await _check(page, "request-waiting")
        await page.get_by_role("button", name="Approve the request from Testfirma AS").click()
        await expect(page.get_by_role("status")).to_contain_text("Approved")
        await _check(page, "request-approved")
        done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})

        await follow_menu(page, "Agreements")
        await page.get_by_role("link", name=dataset_id).click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Agreement")
        await expect(page.get_by_text(done["agreement_id"], exact=True)).to_be_visible()
        await _check(page, "agreement")
