"""The marketplace portal in a real browser: anyone searches and reads a product; a member
signs in with its organisation's credential and orders the free plan.

The organisation's wallet is the test (identity.oid4vp's wallet functions with the
buyer connector's key and MembershipCredential), answering the request the browser
shows; the browser then presses Continue. At a desktop and a phone width: nothing
sticks out sideways, axe finds no serious or critical violation, each step leaves a
screenshot. Pages are opened without JavaScript: the portal works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import (
    DESKTOP,
    PHONE,
    check_page,
    new_page,
)
from tests.conftest import Database
from tests.marketplace.members import member_space
from tests.marketplace.test_end_to_end import FREE, MONTHLY, Provider
from tests.marketplace.test_portal_support import answer, wallet_of

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [
    pytest.mark.browser,
    # the pages do not care which store is behind them (tests/marketplace/test_portal.py
    # runs both); one is enough in a browser
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]


async def _check(page: Page, name: str, width: int) -> None:
    await check_page(page, "marketplace-portal-" + name)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_search_read_a_product_sign_in_and_order(browser: Browser, tmp_path: Path,
                                                       database: Database, width: int) -> None:
    from playwright.async_api import expect

    async with member_space(tmp_path, database) as space:
        provider = Provider(space, await space.connector("halden", roles=["provider"]))
        buyer = await space.connector("analyse", roles=["consumer"])
        listed = await provider.list_product("https://backend.invalid/data",
                                             {"free": FREE, "monthly": MONTHLY})
        page = await new_page(browser, width, javascript=False)
        base = space.marketplace.url

        # Anyone: search, narrow by a facet, open the product.
        await page.goto(f"{base}/portal")
        await page.get_by_label("Search").fill("traffic")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("heading", name="1 data product")).to_be_visible()
        await _check(page, "search", width)
        await page.get_by_role("link", name="Traffic counts").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Traffic counts")
        await expect(page.get_by_text("NOK 125.00").first).to_be_visible()
        await _check(page, "product", width)

        # The member signs in with its credential: the wallet answers, the browser continues.
        await page.goto(f"{base}/portal/signin")
        await page.get_by_role("button", name="Sign in with the organisation's credential").click()
        url = await page.locator("#authorization-url").get_attribute("href")
        assert url is not None
        await _check(page, "signin-request", width)
        wallet = await wallet_of(buyer, space.http)
        await answer(space.http, url, wallet.identity, [wallet.membership])
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("status")).to_contain_text("Signed in as Analyse AS")

        # It orders the free plan and sees the completed order.
        await page.goto(f"{base}/portal/products/{listed.offering}")
        await page.get_by_role("button", name="Order the Open plan").click()
        await expect(page.get_by_role("status")).to_contain_text("Ordered")
        await expect(page.get_by_text("completed").first).to_be_visible()
        await _check(page, "order", width)
        await page.get_by_role("link", name="All orders").click()
        await expect(page.get_by_role("link", name="Traffic counts")).to_be_visible()
        await _check(page, "orders", width)
