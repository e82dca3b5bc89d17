"""Analyse AS's domain lead in a real browser: find Halden's dataset, request it for a
purpose, download it once agreed, read the provider's signed receipt.

Through the consumer's pages only (Halden's owner approves over the API, as the
other organisation would), at a desktop and a phone width: nothing sticks out
sideways, axe finds no serious or critical violation, each step leaves a screenshot.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import (
    DESKTOP,
    PHONE,
    check_page,
    choose_password,
    new_page,
)
from tests.conftest import Database
from tests.connector.dataplane.harness import SMALL_BODY
from tests.connector.test_console_consumer_support import Space, data_space

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser

KARI = "kari@analyse.no"


async def _check(page: Page, name: str) -> None:
    await check_page(page, "connector-consumer-" + name)


async def _approve(space: Space) -> None:
    import asyncio

    for _ in range(300):
        waiting = await space.provider.api(space.http, "GET",
                                           "/api/v1/negotiations?awaiting=owner", expect=200)
        if waiting["items"]:
            await space.provider.api(space.http, "POST", f"/api/v1/negotiations/"
                                     f"{waiting['items'][0]['id']}/approve", expect=200,
                                     json={"approver": "ola@halden.kommune.no"})
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited for Halden's owner")


async def _reload_until(page: Page, text: str) -> None:
    for _ in range(100):
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(100)
        await page.reload()
    raise AssertionError(f"{text!r} never showed")


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_the_company_finds_requests_downloads_and_reads_its_receipt(
    browser: Browser, tmp_path: Path, width: int,
) -> None:
    from playwright.async_api import expect

    def stores() -> Database:
        return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / uuid.uuid4().hex}.db")

    async with data_space(stores, tmp_path) as space:
        await space.dataset("urn:halden:traffic", "Traffic counts", access_level="RESTRICTED",
                            description="Cars per hour at 40 counting points.")
        async with space.http.post(space.consumer.management_url + "/api/v1/accounts", json={
                "email": KARI, "name": "Kari Nordmann", "roles": ["domain_lead"]},
                headers=space.consumer.admin_headers) as resp:
            link = (await resp.json())["signin_link"]
        page = await new_page(browser, width, javascript=False)
        await choose_password(page, link)

        # she finds Halden among the members and opens its catalog
        await page.goto(space.consumer.management_url + "/members")
        await page.get_by_label("Search by name or DID").fill("Halden")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("cell", name="Halden kommune", exact=True)).to_be_visible()
        await _check(page, "members")
        await page.get_by_role("link", name="Open the catalog of Halden kommune").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Catalog of Halden kommune")
        await expect(page.get_by_text("Yellow: the owner approves each request")).to_be_visible()
        await _check(page, "catalog")

        # she requests it for a stated purpose
        await page.get_by_label("Purpose of your request").fill("Planning bus routes")
        await page.get_by_role("button", name="Request “Traffic counts” (offer 1)").click()
        await expect(page.get_by_role("status").first).to_contain_text("Request sent")
        await expect(page.get_by_text("Waiting for the owner's approval").first).to_be_visible()
        await _check(page, "request-waiting")

        await _approve(space)
        await _reload_until(page, "Agreed: you may start a transfer")
        await _check(page, "request-agreed")
        await page.get_by_role("button", name="Start a transfer").click()
        await expect(page.get_by_role("status").first).to_contain_text("Transfer")
        for _ in range(100):
            if await page.get_by_role("button", name="Download the data").count():
                break
            await page.wait_for_timeout(100)
            await page.reload()
        await _check(page, "downloads")

        # she downloads through the console, stating the purpose again
        await page.get_by_label("Purpose of this download").fill("Planning bus routes")
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download the data").click()
        download = await download_info.value
        saved = tmp_path / "traffic.json"
        await download.save_as(saved)
        assert saved.read_bytes() == SMALL_BODY

        # and reads the provider's signed receipt
        await page.get_by_role("button", name="Get the provider's signed receipt").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Usage receipt")
        await expect(page.get_by_text("Signature verified")).to_be_visible()
        await _check(page, "receipt")
