"""The operator web page in a real browser: headless Debian Chromium driven by playwright.

Every action is clicked on the page and then checked through the admin API,
so the tests fail if a button stops calling the API. Chromium is Debian's
(``apt-get install chromium``; ``.ci/run`` installs it); these tests install
nothing: without it they are skipped with that hint, and fail in CI
(``tests/machine.py``). No browser process
outlives a test: the fixture checks the process tree after closing it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from identity.oid4vci_client import collect_credential
from tests.machine import missing
from tests.trust_anchor.conftest import Applicant, TrustAnchor, apply, new_applicant

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Dialog, Locator, Page, Request

pytestmark = [
    pytest.mark.browser,
    # The page does not care which store is behind the admin API; one is enough.
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


# --- the browser and the processes it starts --------------------------------

_MARK = "DATASPACE_TEST_BROWSER"


def _processes() -> dict[int, tuple[int, str]]:
    """Live (non-zombie) processes: pid -> (parent pid, start time, which guards pid reuse)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended while we looked
            if fields[0] != "Z":
                found[int(entry.name)] = (int(fields[1]), fields[19])
    return found


def _started_by(roots: set[int], token: str) -> dict[int, str]:
    """The processes under ``roots`` plus those marked with ``token``: pid -> start time.

    Chromium's crash handlers detach from the process tree (re-parented to
    init); they keep the environment the browser was launched with, so the
    mark finds them. The zygote's children rewrite theirs but stay in the tree.
    """
    table = _processes()
    needle = f"{_MARK}={token}".encode()
    ours: set[int] = set()
    for pid in table:
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                ours.add(pid)
        except OSError:
            continue
    frontier = list(roots | ours)
    while frontier:
        parent = frontier.pop()
        children = {pid for pid, (ppid, _) in table.items() if ppid == parent} - ours
        ours |= children
        frontier.extend(children)
    return {pid: table[pid][1] for pid in ours if pid in table}


def _still_running(processes: dict[int, str]) -> list[int]:
    table = _processes()
    return [pid for pid, start in processes.items() if pid in table and table[pid][1] == start]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium; afterwards, every process it and playwright started has ended."""
    if not CHROMIUM.is_file():
        missing(f"Debian's Chromium ({CHROMIUM}, for the browser tests)",
                "apt-get install chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'", pytrace=False)
    token = uuid.uuid4().hex
    before = _started_by({os.getpid()}, token)
    started: dict[int, str] = {}
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            env={**os.environ, _MARK: token})
        try:
            yield launched
        finally:
            started = _started_by({os.getpid()}, token)
            await launched.close()
    finally:
        await playwright.stop()
    ours = {pid: t for pid, t in started.items() if before.get(pid) != t}
    assert ours, "found none of the browser's processes: the leftover check is blind"
    deadline = time.monotonic() + 10
    while (left := _still_running(ours)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"browser processes outlived the test (now killed): {left}"


class OperatorPage:
    """The page plus what it did: reasons asked for, admin API calls made, errors."""

    def __init__(self, page: Page, ta: TrustAnchor) -> None:
        self.page = page
        self.ta = ta
        self.prompts: list[str] = []  # the reason form's labels, then any browser dialog
        self.posts: list[tuple[str, Any]] = []
        self.errors: list[str] = []
        page.on("dialog", self._dismiss)
        page.on("request", self._record)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    async def _dismiss(self, dialog: Dialog) -> None:
        # The page asks in its own form; a browser dialog would be a regression.
        self.prompts.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico on its own; the page has none.
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            self.errors.append(f"{message.text} at {message.location.get('url')}")

    def _record(self, request: Request) -> None:
        if request.method == "POST" and "/admin/" in request.url:
            self.posts.append((request.url.removeprefix(self.ta.url), request.post_data_json))

    def row(self, applicant: Applicant) -> Locator:
        return self.page.locator("#rows tr", has_text=applicant.did)

    async def ask(self, applicant: Applicant, action: str) -> Locator:
        """Click ``action`` on the applicant's row; the reason form it opens."""
        from playwright.async_api import expect

        await self.row(applicant).locator(f'button[data-action="{action}"]').click()
        form = self.page.locator("#decide")
        await expect(form).to_be_visible()
        self.prompts.append(await form.locator("label[for=reason]").inner_text())
        return form

    async def act(self, applicant: Applicant, action: str, reason: str | None) -> None:
        """Click ``action`` on the applicant's row and confirm with ``reason`` (None cancels)."""
        form = await self.ask(applicant, action)
        if reason is None:
            await form.locator("#cancel").click()
            return
        await form.locator("#reason").fill(reason)
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            async with self.page.expect_response(
                lambda r: r.request.method == "POST" and r.url.endswith(f"/{action}"),
                timeout=5_000,
            ) as answered:
                await form.locator("#confirm").click()
            response = await answered.value
        except PlaywrightTimeout:
            pytest.fail(f"confirming {action!r} sent no POST .../{action} to the admin API")
        assert response.status == 200, await response.text()

    async def show(self, state: str) -> None:
        async with self.page.expect_response(lambda r: "/admin/applications" in r.url):
            await self.page.select_option("#filter", state)


@pytest.fixture
async def operator_page(browser: Browser, trust_anchor: TrustAnchor
                        ) -> AsyncIterator[OperatorPage]:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{trust_anchor.url}/operator")
    try:
        yield OperatorPage(page, trust_anchor)
    finally:
        await context.close()


async def submitted(ta: TrustAnchor, legal_name: str, organisation_number: str
                    ) -> tuple[Applicant, dict[str, Any]]:
    applicant = new_applicant(legal_name=legal_name, organisation_number=organisation_number)
    status, created = await apply(ta, applicant)
    assert status == 201, created
    return applicant, created


async def audit_of(ta: TrustAnchor, application_id: str) -> tuple[str, list[tuple[Any, ...]]]:
    """(state, [(from, to, reason), ...]) as the admin API reports them."""
    status, view = await ta.get(f"/admin/applications/{application_id}", admin=True)
    assert status == 200, view
    return view["status"], [(e.get("from_state"), e["to_state"], e.get("reason"))
                            for e in view["audit"]]


async def sign_in(operator: OperatorPage, key: str) -> int:
    """Type the key and sign in; the status of the page's first admin API call."""
    page = operator.page
    await page.fill("#key", key)
    async with page.expect_response(lambda r: "/admin/applications" in r.url) as answered:
        await page.click("#login button[type=submit]")
    return (await answered.value).status


# --- tests ------------------------------------------------------------------

async def test_a_wrong_admin_key_shows_an_error_and_no_applications(
    operator_page: OperatorPage, trust_anchor: TrustAnchor,
) -> None:
    from playwright.async_api import expect

    await submitted(trust_anchor, "Halden kommune", "959 159 092")
    page = operator_page.page
    assert await sign_in(operator_page, "dsk_not-the-admin-key") == 401
    await expect(page.locator("#error")).to_contain_text("administrative API key")
    await expect(page.locator("#panel")).to_be_hidden()
    await expect(page.locator("#login")).to_be_visible()
    assert await page.locator("#rows tr").count() == 0
    assert "Halden" not in await page.content()

    # The right key then works in the same tab, and the error goes away.
    assert await sign_in(operator_page, trust_anchor.admin_key) == 200
    await expect(page.locator("#panel")).to_be_visible()
    await expect(page.locator("#error")).to_be_empty()
    await expect(page.locator("#rows tr")).to_have_count(1)


async def test_the_operator_reviews_applications_in_the_browser(
    operator_page: OperatorPage, trust_anchor: TrustAnchor,
) -> None:
    from playwright.async_api import expect

    ta, operator, page = trust_anchor, operator_page, operator_page.page
    halden, halden_app = await submitted(ta, "Halden kommune", "959 159 092")
    bodo, bodo_app = await submitted(ta, "Bodø kommune", "972 418 013")
    assert await sign_in(operator, ta.admin_key) == 200

    # The submitted applications, with what the operator can do to each.
    await expect(page.locator("#rows tr")).to_have_count(2)
    await expect(operator.row(halden)).to_contain_text("Halden kommune")
    await expect(operator.row(halden)).to_contain_text("959 159 092")
    await expect(operator.row(bodo)).to_contain_text("Bodø kommune")
    await expect(operator.row(halden).locator(".state")).to_have_text("submitted")
    await expect(operator.row(halden).locator("button")).to_have_text(["approve", "reject"])

    # Approve: the prompt's reason lands in the audit trail, the notice gives the offer.
    await operator.act(halden, "approve", "registry extract checked")
    assert operator.prompts[-1] == "Reason to approve Halden kommune:"
    notice = page.locator("#notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Approved Halden kommune.")
    assert await audit_of(ta, halden_app["id"]) == ("active", [
        (None, "submitted", "applied"),
        ("submitted", "approved", "registry extract checked"),
        ("approved", "active", "membership credential issued"),
    ])
    await expect(operator.row(halden)).to_have_count(0)  # no longer "submitted"
    text = await notice.inner_text()
    offer_uri = re.search(r"Credential offer: (openid-credential-offer://\S+)", text)
    tx_code = re.search(r"Transaction code \(give it to the participant\): (\d{6})", text)
    assert offer_uri, text
    assert tx_code, text
    # It is the applicant's offer, and the code shown collects the credential.
    status, view = await ta.get(halden_app["location"],
                                headers={"Authorization": f"Bearer {halden_app['status_token']}"})
    assert view["credential_offer_uri"] == offer_uri[1]
    credential = await collect_credential(ta.http, offer_uri[1], halden.signer,
                                          tx_code=tx_code[1])
    assert credential.count(".") == 2

    # Active members: suspend, then reinstate from the suspended list.
    await operator.show("active")
    await expect(page.locator("#rows tr")).to_have_count(1)
    await expect(operator.row(halden).locator("button")).to_have_text(["suspend", "revoke"])
    await operator.act(halden, "suspend", "membership fee unpaid")
    state, audit = await audit_of(ta, halden_app["id"])
    assert (state, audit[-1]) == ("suspended", ("active", "suspended", "membership fee unpaid"))
    await expect(operator.row(halden)).to_have_count(0)
    await operator.show("suspended")
    await expect(operator.row(halden).locator(".state")).to_have_text("suspended")
    await operator.act(halden, "reinstate", "fee paid")
    state, audit = await audit_of(ta, halden_app["id"])
    assert (state, audit[-1]) == ("active", ("suspended", "active", "fee paid"))
    await operator.show("active")
    await expect(operator.row(halden).locator(".state")).to_have_text("active")

    # Reject: cancelling the form changes nothing; confirming with a reason rejects.
    await operator.show("submitted")
    await operator.act(bodo, "reject", None)
    assert operator.prompts[-1] == "Reason to reject Bodø kommune:"
    await expect(page.locator("#decide")).to_be_hidden()
    assert await audit_of(ta, bodo_app["id"]) == ("submitted", [(None, "submitted", "applied")])
    await operator.act(bodo, "reject", "not a Norwegian municipality")
    assert await audit_of(ta, bodo_app["id"]) == ("rejected", [
        (None, "submitted", "applied"),
        ("submitted", "rejected", "not a Norwegian municipality")])
    await expect(page.locator("#rows tr")).to_have_count(0)
    await operator.show("rejected")
    await expect(operator.row(bodo).locator(".state")).to_have_text("rejected")
    await expect(operator.row(bodo).locator("button")).to_have_count(0)

    # Exactly these calls, each with its reason, and nothing went wrong in the page.
    assert operator.posts == [
        (f"/admin/applications/{halden_app['id']}/approve",
         {"reason": "registry extract checked"}),
        (f"/admin/applications/{halden_app['id']}/suspend", {"reason": "membership fee unpaid"}),
        (f"/admin/applications/{halden_app['id']}/reinstate", {"reason": "fee paid"}),
        (f"/admin/applications/{bodo_app['id']}/reject",
         {"reason": "not a Norwegian municipality"}),
    ]
    assert operator.errors == [], json.dumps(operator.errors)


async def test_rejecting_suspending_and_revoking_need_a_reason_before_the_api_is_called(
    operator_page: OperatorPage, trust_anchor: TrustAnchor,
) -> None:
    """The API refuses a negative step without a reason (400); the page says so first,
    in plain words, instead of sending an empty reason and showing a schema error."""
    from playwright.async_api import expect

    ta, operator, page = trust_anchor, operator_page, operator_page.page
    halden, halden_app = await submitted(ta, "Halden kommune", "959 159 092")
    bodo, bodo_app = await submitted(ta, "Bodø kommune", "972 418 013")
    assert await sign_in(operator, ta.admin_key) == 200
    reason, hint = page.locator("#reason"), page.locator("#reason-hint")
    wanted = "Give a reason to reject Bodø kommune: the participant is told why."

    form = await operator.ask(bodo, "reject")
    await expect(reason).to_have_attribute("required", "")
    await expect(hint).to_contain_text("Required")
    for typed in ("", "   "):
        await reason.fill(typed)
        await form.locator("#confirm").click()
        await expect(hint).to_have_text(wanted)
        assert await reason.evaluate("field => field.validationMessage") == wanted
        assert await reason.evaluate("field => field.matches(':invalid')")
        await expect(form).to_be_visible()
    assert operator.posts == []
    assert await audit_of(ta, bodo_app["id"]) == ("submitted", [(None, "submitted", "applied")])
    await expect(page.locator("#error")).to_be_empty()

    # Typing clears the complaint; with a reason the rejection goes through.
    await reason.fill("not a Norwegian municipality")
    assert await reason.evaluate("field => field.validationMessage") == ""
    await operator.act(bodo, "reject", "not a Norwegian municipality")
    assert await audit_of(ta, bodo_app["id"]) == ("rejected", [
        (None, "submitted", "applied"),
        ("submitted", "rejected", "not a Norwegian municipality")])
    await expect(form).to_be_hidden()

    # Approving needs none: an empty field approves, and the trail says "approved".
    form = await operator.ask(halden, "approve")
    await expect(reason).not_to_have_attribute("required", "")
    async with page.expect_response(lambda r: r.url.endswith("/approve")) as answered:
        await form.locator("#confirm").click()
    assert (await answered.value).status == 200
    state, audit = await audit_of(ta, halden_app["id"])
    assert (state, audit[1]) == ("active", ("submitted", "approved", "approved"))

    # Suspending and revoking an active member ask for a reason the same way.
    await operator.show("active")
    for action in ("suspend", "revoke"):
        form = await operator.ask(halden, action)
        await expect(reason).to_have_attribute("required", "")
        await form.locator("#confirm").click()
        await expect(hint).to_have_text(
            f"Give a reason to {action} Halden kommune: the participant is told why.")
        await form.locator("#cancel").click()
        await expect(form).to_be_hidden()
    assert (await audit_of(ta, halden_app["id"]))[0] == "active"
    assert [path for path, _ in operator.posts] == [
        f"/admin/applications/{bodo_app['id']}/reject",
        f"/admin/applications/{halden_app['id']}/approve"]
    assert operator.posts[1][1] == {}
    assert [p for p in operator.prompts if not p.startswith("Reason to ")] == []
    assert operator.errors == [], json.dumps(operator.errors)


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_reload_keeps_the_operator_signed_in_and_the_code_shown(
    browser: Browser, trust_anchor: TrustAnchor, width: int,
) -> None:
    """A reload (or a phone's tab coming back) loses neither the session nor the code."""
    from playwright.async_api import expect

    ta = trust_anchor
    halden, halden_app = await submitted(ta, "Halden kommune", "959 159 092")
    await submitted(ta, "Bodø kommune", "972 418 013")
    context = await browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = await context.new_page()
        page.set_default_timeout(10_000)
        operator = OperatorPage(page, ta)
        await page.goto(f"{ta.url}/operator")
        assert await sign_in(operator, ta.admin_key) == 200
        await operator.act(halden, "approve", "registry extract checked")
        await expect(page.locator("#notice")).to_be_visible()
        shown = await page.locator("#notice").inner_text()
        tx_code = re.search(r"Transaction code \(give it to the participant\): (\d{6})", shown)
        assert tx_code, shown
        await operator.show("active")

        async with page.expect_response(lambda r: "/admin/applications" in r.url) as listed:
            await page.reload()
        assert (await listed.value).status == 200
        # Still signed in, on the same list, with the same offer and code in view.
        await expect(page.locator("#panel")).to_be_visible()
        await expect(page.locator("#login")).to_be_hidden()
        await expect(page.locator("#filter")).to_have_value("active")
        await expect(operator.row(halden).locator(".state")).to_have_text("active")
        await expect(page.locator("#notice")).to_be_visible()
        await expect(page.locator("#notice")).to_contain_text(tx_code[0])
        assert await page.locator("#notice").inner_text() == shown
        await expect(page.locator("#error")).to_be_empty()
        # Nothing sticks out sideways, at this width: no page-wide horizontal scrolling,
        # and the code is on screen.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
        box = await page.locator("#notice").bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= width, box

        # The code that survived the reload is the real one: it collects the credential.
        offer_uri = re.search(r"Credential offer: (openid-credential-offer://\S+)", shown)
        assert offer_uri, shown
        credential = await collect_credential(ta.http, offer_uri[1], halden.signer,
                                              tx_code=tx_code[1])
        assert credential.count(".") == 2

        # The key is this tab's alone (sessionStorage, never localStorage): a new tab
        # asks for it.
        assert await page.evaluate("localStorage.length") == 0
        other = await context.new_page()
        await other.goto(f"{ta.url}/operator")
        await expect(other.locator("#login")).to_be_visible()
        await expect(other.locator("#panel")).to_be_hidden()
        await other.close()

        # Hiding the notice and signing out forget the code and the key, reload or not.
        await page.click("#dismiss")
        await expect(page.locator("#notice")).to_be_hidden()
        await page.click("#logout")
        await expect(page.locator("#login")).to_be_visible()
        await page.reload()
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#panel")).to_be_hidden()
        assert await page.evaluate("sessionStorage.getItem('adminKey')") is None
        assert tx_code[1] not in await page.content()
        assert operator.errors == [], json.dumps(operator.errors)
        assert [path for path, _ in operator.posts] == [
            f"/admin/applications/{halden_app['id']}/approve"]
    finally:
        await context.close()


async def test_the_root_page_leads_a_browser_to_the_operator_page(
    browser: Browser, trust_anchor: TrustAnchor,
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{trust_anchor.url}/")
        await page.click("text=Operator page")
        await expect(page).to_have_url(f"{trust_anchor.url}/operator")
        await expect(page.locator("#login")).to_be_visible()
        await page.goto(f"{trust_anchor.url}/")
        await page.click("text=API description (OpenAPI 3.1)")
        await expect(page).to_have_url(f"{trust_anchor.url}/openapi.json")
        assert '"openapi"' in await page.content()
    finally:
        await context.close()
