"""The marketplace portal over HTTP: the shop for anyone, members signing in with their
organisation's credential (OpenID4VP) and ordering, the staff's pages.

A real trust anchor, the marketplace onboarded as a member, and real connectors
(the provider's catalog is checked when its product is registered; the buyer's
connector is the organisation's wallet and receives the purchase credential).
The wallet's answer is built with :mod:`identity.oid4vp`'s wallet functions.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from identity import KeyPair, Signer, build_credential, issue_vc_jwt
from identity.oid4vp import submit
from servicekit.console.config import ConsoleSettings
from servicekit.errors import DataspaceError
from tests.conftest import Database
from tests.identity.test_oid4vp_support import credential_record, did_key_identity
from tests.marketplace.conftest import TMF622, Marketplace
from tests.marketplace.members import member_space
from tests.marketplace.test_end_to_end import FREE, MONTHLY, Provider, until
from tests.marketplace.test_portal_support import PortalClient, answer, csrf_of, wallet_of


async def _orders(market: Marketplace) -> int:
    status, _, headers = await market.call("GET", f"{TMF622}/productOrder",
                                           headers=market.admin)
    assert status == 200
    return int(headers["X-Total-Count"])


def _said(error: DataspaceError) -> str:
    """What the portal answered a wallet it refused (OAuth ``error_description``: our code)."""
    return f"{error.detail} {error.extra}"


def _order_id(location: str) -> str:
    found = re.fullmatch(r"/portal/orders/([0-9a-f-]+)", location)
    assert found, location
    return found.group(1)


async def test_the_shop_a_member_signs_in_orders_and_refusals(tmp_path: Path,
                                                              database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        market = space.marketplace
        provider = Provider(space, await space.connector("halden", roles=["provider"]))
        buyer = await space.connector("analyse", roles=["consumer"])
        listed = await provider.list_product("https://backend.invalid/data",
                                             {"free": FREE, "monthly": MONTHLY})
        free_plan = listed.plans["free"]["id"]
        browser = PortalClient.open(market.url)
        stranger = PortalClient.open(market.url)
        try:
            # --- the shop, without signing in ----------------------------------------------
            status, page, headers = await stranger.get("/portal?q=traffic")
            assert status == 200, page
            assert "default-src 'none'" in headers["Content-Security-Policy"]
            assert f'href="/portal/products/{listed.offering}"' in page
            assert "1 data product" in page
            assert "Price type" in page
            assert 'name="priceType" value="free"' in page
            assert re.search(r'value="recurring"[^<]*> <span class="portal-value">recurring'
                             r'</span> <span class="badge">1</span>', page), page
            status, page, _ = await stranger.get("/portal?q=traffic&priceType=usage")
            assert (status, "0 data products" in page) == (200, True)
            status, page, _ = await stranger.get("/portal?q=" + "x" * 201)
            assert status == 400
            assert "at most 200" in page
            status, page, _ = await stranger.get(f"/portal/products/{listed.offering}")
            assert status == 200, page
            assert "Traffic counts" in page
            assert "Open" in page
            assert "Monthly" in page
            assert "NOK 125.00" in page  # 100 NOK + 25 % VAT
            assert "MembershipCredential" in page or "member" in page.lower()  # the policy
            assert "Order the" not in page  # anonymous: no order button, a sign-in link
            assert "/portal/signin?next=" in page
            _, signin, _ = await stranger.get("/portal/signin")
            status, _, headers = await stranger.post(
                f"/portal/products/{listed.offering}/order", {"plan": free_plan},
                csrf=csrf_of(signin))
            assert (status, headers["Location"].startswith("/portal/signin")) == (303, True)

            # --- a member signs in with its credential over OpenID4VP -------------------
            wallet = await wallet_of(buyer, space.http)
            waiting, url = await browser.sign_in_request()
            assert url.startswith("openid4vp://")
            request, token = await answer(space.http, url, wallet.identity, [wallet.membership])
            # A replayed answer is refused: the request is used.
            with pytest.raises(DataspaceError) as replayed:
                await submit(space.http, request, token)
            assert "request-used" in _said(replayed.value)
            status, _, headers = await browser.finish_sign_in(waiting)
            assert (status, headers["Location"]) == (303, "/portal"), headers
            status, page, _ = await browser.get("/portal")
            assert "Analyse AS" in page
            assert "organisation" in page
            # The session is this browser's: another browser cannot continue the request.
            status, _, _ = await stranger.finish_sign_in(waiting)
            assert status == 404

            # --- it orders the free plan --------------------------------------------------
            status, page, _ = await browser.get(f"/portal/products/{listed.offering}")
            assert "Order the Open plan" in page
            csrf = csrf_of(page)
            before = await _orders(market)
            # No CSRF token: 403, nothing stored.
            status, _, _ = await browser.post(f"/portal/products/{listed.offering}/order",
                                              {"plan": free_plan}, csrf=None)
            assert status == 403
            # A plan of no offering: 400, said on the page, what was typed kept; nothing stored.
            status, page, _ = await browser.post(f"/portal/products/{listed.offering}/order",
                                                 {"plan": "no-such-plan"}, csrf=csrf)
            assert status == 400, page
            assert 'role="alert"' in page
            assert "no-such-plan" in page, page[page.find('role="alert"'):][:400]
            status, page, _ = await browser.post(f"/portal/products/{listed.offering}/order",
                                                 {"plan": ""}, csrf=csrf)
            assert (status, "choose one of the plans" in page) == (400, True)
            assert await _orders(market) == before

            status, _, headers = await browser.post(f"/portal/products/{listed.offering}/order",
                                                    {"plan": free_plan}, csrf=csrf)
            assert status == 303
            order_id = _order_id(headers["Location"])
            status, page, _ = await browser.get(headers["Location"])
            assert status == 200, page
            assert "completed" in page
            assert "purchase credential is on its way" in page

            async def delivered() -> bool:
                _, shown, _ = await browser.get(f"/portal/orders/{order_id}")
                return "delivered to the connector" in shown
            await until(delivered, timeout=15)
            status, page, _ = await browser.get("/portal/orders")
            assert f"/portal/orders/{order_id}" in page
            status, page, _ = await browser.get("/portal/usage")
            assert (status, "Traffic counts" in page) == (200, True)

            # The monthly plan: an invoice with its KID.
            status, _, headers = await browser.post(
                f"/portal/products/{listed.offering}/order",
                {"plan": listed.plans["monthly"]["id"]}, csrf=csrf)
            status, page, _ = await browser.get(headers["Location"])
            assert "awaiting payment" in page
            assert 'id="kid"' in page
            assert "NOK 125.00" in page
            assert "Mark the invoice paid" not in page  # the operator's button
            # A member is not staff.
            status, _, _ = await browser.get("/portal/billing")
            assert status == 403
        finally:
            await browser.close()
            await stranger.close()


async def test_a_members_portal_session_ends_when_its_membership_is_revoked(
        tmp_path: Path, database: Database) -> None:
    settings = ConsoleSettings(organisation_recheck_seconds=0, password_memory_kib=64,
                               password_time_cost=1)
    async with member_space(tmp_path, database, console=settings) as space:
        buyer = await space.connector("analyse", roles=["consumer"])
        browser = PortalClient.open(space.marketplace.url)
        try:
            wallet = await wallet_of(buyer, space.http)
            waiting, url = await browser.sign_in_request()
            await answer(space.http, url, wallet.identity, [wallet.membership])
            status, _, headers = await browser.finish_sign_in(waiting)
            assert status == 303, headers
            status, page, _ = await browser.get("/portal/orders")
            assert status == 200, page
            await space.revoke(buyer)

            async def signed_out() -> bool:
                status, _, headers = await browser.get("/portal/orders")
                return status == 303 and headers["Location"].startswith("/portal/signin")
            await until(signed_out, timeout=15)
        finally:
            await browser.close()


async def test_a_credential_from_an_untrusted_issuer_does_not_sign_in(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        browser = PortalClient.open(space.marketplace.url)
        try:
            waiting, url = await browser.sign_in_request()
            outsider = did_key_identity()
            rogue = Signer.for_did_key(KeyPair.generate())
            forged = issue_vc_jwt(build_credential(
                issuer=rogue.did, subject={"id": outsider.did, "legalName": "Nobody AS"},
                types=["MembershipCredential"]), rogue)
            with pytest.raises(DataspaceError) as refused:
                await answer(space.http, url, outsider, [credential_record(forged)])
            assert "issuer-untrusted" in _said(refused.value)
            status, page, headers = await browser.finish_sign_in(waiting)
            assert status == 200
            assert "was refused" in page
            status, _, headers = await browser.get("/portal/orders")
            assert (status, headers["Location"].startswith("/portal/signin")) == (303, True)
        finally:
            await browser.close()


# --- the staff ------------------------------------------------------------------------------


async def _staff(market: Marketplace, email: str, roles: list[str]) -> PortalClient:
    """A person of the operator's staff, invited with the admin key, signed in."""
    status, account, _ = await market.call("POST", "/admin/accounts", {
        "email": email, "name": email.split("@")[0].title(), "roles": roles},
        headers=market.admin)
    assert status == 201, account
    path = "/" + account["signin_link"].split("/", 3)[3]
    browser = PortalClient.open(market.url)
    status, page, _ = await browser.get(path)
    assert status == 200, page
    status, _, headers = await browser.post(path, csrf=csrf_of(page))
    assert status == 303, headers
    status, page, _ = await browser.get("/portal/account/password")
    status, _, _ = await browser.post("/portal/account/password", {
        "password": "a long enough passphrase", "confirm": "a long enough passphrase"},
        csrf=csrf_of(page))
    assert status == 303
    return browser


async def test_the_staff_see_every_order_run_billing_and_a_viewer_changes_nothing(
        marketplace: Marketplace) -> None:
    market = marketplace
    status, spec, _ = await market.call(
        "POST", "/tmf-api/productCatalogManagement/v4/productSpecification", {
            "name": "Parking", "providerDid": "did:web:halden.example", "dspAddress":
            "https://halden.example/dsp", "datasetIds": ["urn:dataset:parking"]},
        headers=market.admin)
    assert status == 201, spec
    status, offering, _ = await market.call(
        "POST", "/tmf-api/productCatalogManagement/v4/productOffering",
        {"name": "Parking", "productSpecification": {"id": spec["id"]}}, headers=market.admin)
    assert status == 201, offering
    operator = await _staff(market, "ops@marketplace.example", ["operator"])
    viewer = await _staff(market, "eve@marketplace.example", ["viewer"])
    try:
        status, page, _ = await operator.get("/portal/catalogue")
        assert status == 200
        assert "Parking" in page
        assert "Move to design" in page
        status, _, headers = await operator.post(
            f"/portal/sales/offerings/{offering['id']}", {"state": "inDesign"},
            csrf=csrf_of(page))
        assert (status, headers["Location"]) == (303, "/portal/catalogue")
        status, body, _ = await market.call(
            "GET", f"/tmf-api/productCatalogManagement/v4/productOffering/{offering['id']}",
            headers=market.admin)
        assert body["lifecycleStatus"] == "inDesign"
        # A move the life cycle does not allow: 409, the state kept.
        status, _, _ = await operator.post(f"/portal/sales/offerings/{offering['id']}",
                                           {"state": "retired"}, csrf=csrf_of(page))
        assert status == 409
        status, _, _ = await operator.post(f"/portal/sales/offerings/{offering['id']}",
                                           {"state": "nonsense"}, csrf=csrf_of(page))
        assert status == 400

        status, page, _ = await operator.get("/portal/billing")
        assert status == 200
        assert "Run billing now" in page
        status, _, headers = await operator.post("/portal/billing/runs", csrf=csrf_of(page))
        assert status == 303
        status, page, _ = await operator.get(headers["Location"])
        assert "Billing run done: 0 bills and 0 payouts" in page
        status, page, _ = await operator.get("/portal/orders?state=inProgress")
        assert status == 200
        assert "0 orders" in page
        status, _, _ = await operator.get("/portal/orders?state=nonsense")
        assert status == 400

        # The viewer reads, and is refused every action.
        status, page, _ = await viewer.get("/portal/billing")
        assert status == 200
        assert "Run billing now" not in page
        status, _, _ = await viewer.post("/portal/billing/runs", csrf=csrf_of(page))
        assert status == 403
        status, _, _ = await viewer.post(f"/portal/orders/{quote('x')}/paid",
                                         csrf=csrf_of(page))
        assert status == 403
        # Staff are not members: no sales page, no ordering.
        status, _, _ = await viewer.get("/portal/sales")
        assert status == 403
    finally:
        await operator.close()
        await viewer.close()



async def test_a_staff_members_api_token_acts_as_the_operator_within_its_scopes(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        market = space.marketplace
        status, made, _ = await market.call("POST", "/admin/accounts", {
            "email": "vera@marketplace.example", "name": "Vera", "roles": ["viewer"]},
            headers=market.admin)
        assert status == 201, made
        status, token, _ = await market.call("POST", "/admin/tokens", {
            "name": "reports", "scopes": ["read"], "account_id": made["account"]["id"]},
            headers=market.admin)
        assert status == 201, token
        bearer = {"Authorization": f"Bearer {token['token']}"}
        status, orders, _ = await market.call("GET", f"{TMF622}/productOrder", headers=bearer)
        assert status == 200, orders  # the operator's view: every order
        status, body, _ = await market.call("GET", "/me", headers=bearer)
        assert (status, body["kind"]) == (200, "operator"), body
        # a read token changes nothing
        status, body, _ = await market.call("POST", "/federation/harvest", headers=bearer)
        assert (status, body["code"]) == (403, "token-scope"), body
        # a revoked token is no one
        status, _, _ = await market.call("DELETE", f"/admin/tokens/{token['id']}",
                                         headers=market.admin)
        assert status == 204
        status, body, _ = await market.call("GET", "/me", headers=bearer)
        assert status == 401, body
