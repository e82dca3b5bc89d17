"""The data-space operator in a real browser: approve an applicant, then suspend the member.

Through the pages only, with JavaScript off (the applicant applies over the API, as
its connector would), at a desktop and a phone width: nothing sticks out sideways,
axe finds no serious or critical violation, and each step leaves a screenshot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from servicekit.console.config import ConsoleSettings
from tests.browser import (
    DESKTOP,
    PHONE,
    check_page,
    choose_password,
    follow_menu,
    new_page,
)
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from tests.trust_anchor.conftest import apply, new_applicant, serving
from tests.trust_anchor.test_operator_console import onboarded, present

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser

OPERATOR = "kari@operator.example"


async def _check(page: Page, name: str) -> None:
    await check_page(page, "trust-anchor-operator-" + name)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_the_operator_approves_an_applicant_and_suspends_the_member(
    browser: Browser, tmp_path: Path, width: int,
) -> None:
    from playwright.async_api import expect

    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'ta.db'}")
    settings = trust_anchor_settings(
        tmp_path, database, free_port(),
        console=ConsoleSettings(password_memory_kib=64, password_time_cost=1))
    async with serving(settings) as ta:
        applicant = new_applicant(legal_name="Fredrikstad kommune")
        status, _ = await apply(ta, applicant)
        assert status == 201
        status, made = await ta.post("/admin/accounts", {
            "email": OPERATOR, "name": "Kari Nordmann", "roles": ["operator"]}, admin=True)
        assert status == 201, made
        page = await new_page(browser, width, javascript=False)

        # Kari opens her invitation and chooses a password
        await choose_password(page, made["signin_link"])
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await expect(page.get_by_text("applications waiting")).to_contain_text("1")
        await _check(page, "overview")

        # she opens the waiting application and reads it
        await follow_menu(page, "Applications")
        await page.get_by_role("link", name="Fredrikstad kommune").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Fredrikstad kommune")
        await expect(page.get_by_text(applicant.did).first).to_be_visible()
        await _check(page, "application")

        # she approves it: the offer and the transaction code are shown
        await page.get_by_label("Note on the approval").fill("Register extract checked")
        await page.get_by_role("button", name="Approve and issue the credential").click()
        await expect(page.get_by_role("status")).to_contain_text("Approved")
        await expect(page.locator("#offer-uri")).to_contain_text("openid-credential-offer://")
        await expect(page.locator("#tx-code")).to_have_text(re.compile(r"^\d{4,}$"))
        await expect(page.locator("#history")).to_contain_text(OPERATOR)
        await _check(page, "approved")

        # later she finds the member and suspends it, with a reason
        await follow_menu(page, "Members")
        await page.get_by_label("Name or DID contains").fill("fredrik")
        await page.get_by_label("Status").select_option("active")
        await page.get_by_role("button", name="Search").click()
        await _check(page, "members")
        await page.get_by_role("link", name="Fredrikstad kommune").click()
        await page.get_by_label("Why suspend").fill("Membership fee unpaid")
        await page.get_by_role("button", name="Suspend the member").click()
        await expect(page.get_by_role("status")).to_contain_text("Member suspended")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Suspended")
        await expect(page.locator("#history")).to_contain_text("Membership fee unpaid")
        await _check(page, "suspended")

        # and she looks over the registry, the credential types and the status lists
        for link, heading, name in (("Issuers", "Trusted issuers", "issuers"),
                                    ("Credential types", "Credential types", "types"),
                                    ("Status lists", "Status lists", "status-lists")):
            await follow_menu(page, link)
            await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            await _check(page, name)

        _, record = await ta.get(f"/admin/participants/{quote(applicant.did, safe='')}",
                                 admin=True)
        assert record["status"] == "suspended"
        assert [(e["action"], e["actor"]) for e in record["history"][1:]] == [
            ("approved", OPERATOR), ("credential-issued", OPERATOR), ("suspended", OPERATOR)]


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_a_member_signs_in_with_its_credential_and_reads_its_record(
    browser: Browser, tmp_path: Path, width: int,
) -> None:
    from playwright.async_api import expect

    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'ta.db'}")
    settings = trust_anchor_settings(
        tmp_path, database, free_port(),
        console=ConsoleSettings(password_memory_kib=64, password_time_cost=1))
    async with serving(settings) as ta:
        member = await onboarded(ta, "Halden kommune")
        page = await new_page(browser, width, javascript=False)

        # someone at Halden asks to sign in with the organisation's credential
        await page.goto(f"{ta.url}/operator")
        await page.get_by_role("button", name="Sign in with the organisation's credential").click()
        url = await page.locator("#authorization-url").inner_text()
        await _check(page, "member-signin-request")

        # Halden's connector presents the MembershipCredential, then the page continues
        await present(ta, member, url)
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Our membership: Halden kommune")
        await expect(page.get_by_text(member.did).first).to_be_visible()
        await expect(page.get_by_role("cell", name="active")).to_be_visible()
        await _check(page, "member-home")
