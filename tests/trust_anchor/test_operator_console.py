"""The operator console through its pages, as a browser without JavaScript uses them.

A real trust anchor on loopback (SQLite, and PostgreSQL with TEST_DATABASE_URL);
people sign in through the real pages (the first admin made with the admin key and
a one-time link); a member organisation signs in with its MembershipCredential over
OpenID4VP, its connector's side played by ``identity.oid4vp``'s wallet functions.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from identity.oid4vci_client import collect_credential
from identity.oid4vp import (
    WalletRequest,
    build_vp_token,
    resolve_request,
    select_credentials,
    submit,
)
from identity.resolver import DidResolver
from identity.service_identity import ServiceIdentity
from servicekit.console.config import ConsoleSettings
from servicekit.errors import DataspaceError
from servicekit.http import create_client_session
from tests.conftest import Database, free_port
from tests.console_session import ConsoleSession, first_admin
from tests.factories import trust_anchor_settings
from tests.identity.test_oid4vp_support import credential_record, did_key_identity
from tests.trust_anchor.conftest import Applicant, TrustAnchor, apply, new_applicant, serving

ADMIN = "kari@operator.example"
VIEWER = "ola@operator.example"


@pytest.fixture
async def ta(tmp_path: Path, database: Database) -> AsyncIterator[TrustAnchor]:
    settings = trust_anchor_settings(
        tmp_path, database, free_port(),
        console=ConsoleSettings(password_memory_kib=64, password_time_cost=1,
                                organisation_recheck_seconds=0))
    async with serving(settings) as running:
        yield running


async def person(ta: TrustAnchor, email: str, roles: tuple[str, ...]) -> ConsoleSession:
    """A browser signed in as a new account with ``roles`` (made with the admin key)."""
    made = await first_admin(ta.http, f"{ta.url}/admin", ta.admin_key, email=email,
                             name=email.split("@")[0].capitalize(), roles=roles)
    browser = ConsoleSession(ta.url, "/operator")
    await browser.use_link(made["signin_link"])
    return browser


@pytest.fixture
async def admin(ta: TrustAnchor) -> AsyncIterator[ConsoleSession]:
    browser = await person(ta, ADMIN, ("admin",))
    yield browser
    await browser.close()


async def applied(ta: TrustAnchor, applicant: Applicant | None = None, **overrides: Any
                  ) -> tuple[Applicant, str]:
    applicant = applicant or new_applicant()
    status, created = await apply(ta, applicant, **overrides)
    assert status == 201, created
    return applicant, created["id"]


async def state_of(ta: TrustAnchor, application_id: str) -> str:
    status, body = await ta.get(f"/admin/applications/{application_id}", admin=True)
    assert status == 200, body
    return str(body["status"])


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert found, f"no #{element_id} on the page"
    return html.unescape(found.group(1))


def did_q(did: str) -> str:
    return f"/members/view?did={quote(did, safe='')}"


async def test_an_operator_approves_and_sees_the_offer_until_it_is_collected(
    ta: TrustAnchor, admin: ConsoleSession,
) -> None:
    applicant, application_id = await applied(ta, legal_name="Fredrikstad kommune")
    status, home = await admin.get("/operator")
    assert status == 200
    assert re.search(r'class="n">1</span> applications waiting', home)
    assert "Fredrikstad kommune" in home
    status, queue = await admin.get("/operator/applications")
    assert status == 200
    assert f"/operator/applications/{application_id}" in queue
    status, everything = await admin.get("/operator/applications?state=all")
    assert status == 200
    assert "Fredrikstad kommune" in everything
    status, active = await admin.get("/operator/applications?state=active")
    assert status == 200
    assert "Fredrikstad kommune" not in active
    status, bad = await admin.get("/operator/applications?state=pending")
    assert status == 400
    assert "state must be all or one of" in bad
    status, detail = await admin.get(f"/operator/applications/{application_id}")
    assert status == 200
    for shown in ("Fredrikstad kommune", applicant.did, "959 159 092", "provider, consumer",
                  "data@halden.kommune.no", "Control of the DID proven"):
        assert html.escape(shown) in detail
    assert 'id="tx-code"' not in detail

    status, page, url = await admin.submit(
        detail, f"/operator/applications/{application_id}/approve",
        {"reason": "register extract checked", "back": "application"})
    assert status == 200
    assert url.endswith(f"/operator/applications/{application_id}")
    assert "Give the organisation the credential offer" in page
    offer_uri, tx_code = text_of(page, "offer-uri"), text_of(page, "tx-code")
    assert offer_uri.startswith("openid-credential-offer://")
    assert '<svg' in page  # the QR code
    _, api = await ta.get(f"/admin/applications/{application_id}", admin=True)
    assert (api["offer"]["credential_offer_uri"], api["offer"]["tx_code"]) == (offer_uri,
                                                                               tx_code)
    assert [(e["action"], e["actor"]) for e in api["history"][1:]] == [
        ("approved", ADMIN), ("credential-issued", ADMIN)]
    # Reloading loses nothing: the offer comes from the server.
    _, again = await admin.get(f"/operator/applications/{application_id}")
    assert (text_of(again, "offer-uri"), text_of(again, "tx-code")) == (offer_uri, tx_code)
    assert html.escape(ADMIN) in again
    assert "register extract checked" in again

    await collect_credential(ta.http, offer_uri, applicant.signer, tx_code=tx_code)
    _, collected = await admin.get(f"/operator/applications/{application_id}")
    assert 'id="tx-code"' not in collected
    assert 'id="offer-uri"' not in collected
    assert "collected its MembershipCredential" in collected
    assert "credential-collected" in collected


async def test_rejecting_needs_a_reason(ta: TrustAnchor, admin: ConsoleSession) -> None:
    _, application_id = await applied(ta)
    detail = f"/operator/applications/{application_id}"
    for blank in ("", "   "):
        status, page, _ = await admin.submit(detail, f"{detail}/reject", {"reason": blank})
        assert status == 400
        assert 'role="alert"' in page
        assert "give a reason to reject" in page
    assert await state_of(ta, application_id) == "submitted"
    status, page, _ = await admin.submit(detail, f"{detail}/reject", {"reason": "x" * 2001})
    assert status == 400
    assert "at most 2000" in page
    assert await state_of(ta, application_id) == "submitted"

    status, page, _ = await admin.submit(detail, f"{detail}/reject",
                                         {"reason": "not a registered company"})
    assert status == 200
    assert "Application rejected" in page
    assert await state_of(ta, application_id) == "rejected"
    _, api = await ta.get(f"/admin/applications/{application_id}", admin=True)
    assert (api["history"][-1]["actor"], api["history"][-1]["reason"]) == (
        ADMIN, "not a registered company")


async def test_an_operator_finds_and_suspends_a_member(
    ta: TrustAnchor, admin: ConsoleSession,
) -> None:
    applicant, member_id = await applied(ta, legal_name="Sarpsborg kommune")
    _, other_id = await applied(ta, legal_name="Moss kommune", roles=["consumer"])
    for application_id in (member_id, other_id):
        status, _ = await ta.post(f"/admin/applications/{application_id}/approve", admin=True)
        assert status == 200

    _, found = await admin.get("/operator/members?q=sarps&status=active")
    assert "Sarpsborg kommune" in found
    assert "Moss kommune" not in found
    _, found = await admin.get("/operator/members?role=provider")
    assert "Sarpsborg kommune" in found
    assert "Moss kommune" not in found
    status, bad = await admin.get("/operator/members?status=submitted")
    assert status == 400
    assert "status is active, suspended or revoked" in bad

    member_page = did_q(applicant.did)
    status, page = await admin.get(member_page)
    assert status == 200
    assert "Sarpsborg kommune" in page
    assert "MembershipCredential" in page
    action = f"/operator/applications/{member_id}/suspend"
    status, page, _ = await admin.submit(page, action, {"reason": "", "back": "member"})
    assert status == 400
    assert "give a reason to suspend" in page
    assert await state_of(ta, member_id) == "active"

    status, page, url = await admin.submit(page, action,
                                           {"reason": "fee unpaid", "back": "member"})
    assert status == 200
    assert url.endswith(f"/operator/members/view?did={applicant.did}")
    assert "Member suspended" in page
    assert await state_of(ta, member_id) == "suspended"
    assert '<span class="badge warn">suspended</span>' in page  # the credential's status
    _, found = await admin.get("/operator/members?status=suspended")
    assert "Sarpsborg kommune" in found
    assert "Moss kommune" not in found
    _, home = await admin.get("/operator")
    assert re.search(r'class="n">1</span> members suspended', home)

    status, page, _ = await admin.submit(page, f"/operator/applications/{member_id}/reinstate",
                                         {"back": "member"})
    assert status == 200
    assert await state_of(ta, member_id) == "active"
    _, api = await ta.get(f"/admin/participants/{quote(applicant.did, safe='')}/credentials",
                          admin=True)
    assert [c["status"] for c in api["items"]] == ["active"]


async def test_a_viewer_reads_but_cannot_decide(ta: TrustAnchor, admin: ConsoleSession) -> None:
    applicant, waiting = await applied(ta)
    _, member = await applied(ta)
    await ta.post(f"/admin/applications/{member}/approve", admin=True)
    async with await person(ta, VIEWER, ("viewer",)) as viewer:
        status, page = await viewer.get(f"/operator/applications/{waiting}")
        assert status == 200
        assert "Approve and issue" not in page
        for path, fields in ((f"/operator/applications/{waiting}/approve", {}),
                             (f"/operator/applications/{waiting}/reject", {"reason": "no"}),
                             (f"/operator/applications/{member}/suspend", {"reason": "no"}),
                             ("/operator/issuers", {"did": "did:web:x.example",
                                                    "issuer_type": "TI",
                                                    "types": "MembershipCredential"})):
            status, page, _ = await viewer.submit(f"/operator/applications/{waiting}", path,
                                                  fields)
            assert status == 403, path
            assert "role" in page
        status, _ = await viewer.get("/operator/people")
        assert status == 403
    assert (await state_of(ta, waiting), await state_of(ta, member)) == ("submitted", "active")
    _, registry = await ta.get("/admin/issuers", admin=True)
    assert "did:web:x.example" not in {i["did"] for i in registry["items"]}


async def test_a_form_without_its_csrf_token_is_refused(
    ta: TrustAnchor, admin: ConsoleSession,
) -> None:
    _, application_id = await applied(ta)
    action = admin.url(f"/operator/applications/{application_id}/approve")
    for data in ({}, {"csrf_token": "forged"}):
        async with admin.http.post(action, data=data, allow_redirects=False) as response:
            assert response.status == 403
            assert "security token" in await response.text()
    assert await state_of(ta, application_id) == "submitted"


async def test_the_registry_pages_accredit_and_revoke_an_issuer(
    ta: TrustAnchor, admin: ConsoleSession,
) -> None:
    status, page = await admin.get("/operator/issuers")
    assert status == 200
    assert ta.did in page
    assert "RootTAO" in page
    for fields, message in (
            ({"did": "not-a-did", "issuer_type": "TI", "types": "MembershipCredential"},
             "give the issuer"),
            ({"did": "did:web:market.example", "issuer_type": "TI"}, "choose at least one"),
            ({"did": "did:web:market.example", "issuer_type": "RootTAO",
              "types": "MembershipCredential"}, "TAO or TI")):
        status, page, _ = await admin.submit(page, "/operator/issuers", fields)
        assert status == 400
        assert message in page
        assert html.escape(fields["did"]) in page  # what was typed is kept
    _, registry = await ta.get("/admin/issuers", admin=True)
    assert registry["total"] == 1

    status, page, _ = await admin.submit(
        page, "/operator/issuers", {"did": "did:web:market.example", "issuer_type": "TI",
                                    "types": "DataProductPurchaseCredential"})
    assert status == 200
    assert "is accredited as TI" in page
    _, entry = await ta.get("/admin/issuers", admin=True)
    assert {(i["did"], i["issuer_type"]) for i in entry["items"]} >= {
        ("did:web:market.example", "TI")}
    status, page, _ = await admin.submit(page, "/operator/issuers/revoke",
                                         {"did": "did:web:market.example"})
    assert status == 200
    assert "is revoked" in page
    _, entry = await ta.get("/admin/issuers", admin=True)
    assert ("did:web:market.example", "Revoked") in {(i["did"], i["issuer_type"])
                                                     for i in entry["items"]}
    status, page, _ = await admin.submit(page, "/operator/issuers/revoke", {"did": ta.did})
    assert status == 400
    assert "RootTAO cannot be revoked" in page


async def test_the_credential_types_and_status_lists(
    ta: TrustAnchor, admin: ConsoleSession,
) -> None:
    _, application_id = await applied(ta)
    await ta.post(f"/admin/applications/{application_id}/approve", admin=True)
    status, page = await admin.get("/operator/credential-types")
    assert status == 200
    row = re.search(r"MembershipCredential.*?</tr>", page, re.S)
    assert row
    cells = re.sub(r"<td[^>]*>", "<td>", row.group(0))
    assert "<td>1</td><td>1</td><td>0</td><td>0</td><td>0</td>" in cells
    status, page = await admin.get("/operator/status-lists")
    assert status == 200
    assert "revocation" in page
    assert "suspension" in page


# --- a member organisation signs in with its credential ------------------------------------


@dataclass
class Member:
    identity: ServiceIdentity
    credential: str
    application_id: str

    @property
    def did(self) -> str:
        return self.identity.did


async def onboarded(ta: TrustAnchor, legal_name: str) -> Member:
    identity = did_key_identity()
    applicant = Applicant(identity.signer, legal_name=legal_name)
    _, application_id = await applied(ta, applicant)
    status, approved = await ta.post(f"/admin/applications/{application_id}/approve",
                                     admin=True)
    assert status == 200, approved
    credential = await collect_credential(ta.http, approved["credential_offer_uri"],
                                          identity.signer, tx_code=approved["tx_code"])
    return Member(identity, credential, application_id)


async def start_signin(browser: ConsoleSession) -> tuple[str, str]:
    """Press "sign in with the organisation's credential": the request page's path and URL."""
    _, page, url = await browser.submit("/operator/signin", "/operator/signin/organisation")
    return url, text_of(page, "authorization-url")


async def read_request(ta: TrustAnchor, authorization_url: str) -> WalletRequest:
    """The member's connector reads the request (development: loopback over plain HTTP)."""
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True)
        return await resolve_request(ta.http, authorization_url, resolver, allow_loopback=True)


async def present(ta: TrustAnchor, member: Member, authorization_url: str
                  ) -> tuple[WalletRequest, dict[str, Any]]:
    """The member's connector answers: (the request it read, the vp_token it sent)."""
    request = await read_request(ta, authorization_url)
    token = build_vp_token(request, select_credentials(
        request, [credential_record(member.credential)]), member.identity)
    await submit(ta.http, request, token)
    return request, token


async def test_a_member_signs_in_with_its_credential_and_sees_only_its_own_record(
    ta: TrustAnchor,
) -> None:
    member = await onboarded(ta, "Halden kommune")
    other = await onboarded(ta, "Aremark kommune")
    async with ConsoleSession(ta.url, "/operator") as browser:
        status, signin = await browser.get("/operator/signin")
        assert status == 200
        assert "With your organisation's credential" in signin
        request_page, url = await start_signin(browser)
        assert url.startswith("openid4vp://")
        await present(ta, member, url)
        status, home, final = await browser.submit(request_page, request_page)
        assert status == 200
        assert final.rstrip("/").endswith("/operator")
        assert "Our membership: Halden kommune" in home
        assert member.did in home
        assert "MembershipCredential" in home
        assert "Aremark kommune" not in home
        assert other.did not in home
        assert ADMIN not in home  # staff names are not shown to members
        for path in ("/operator/applications", f"/operator/applications/{other.application_id}",
                     did_q(other.did), "/operator/members", "/operator/issuers",
                     "/operator/people"):
            status, page = await browser.get(path)
            assert status == 403, path
            assert "Aremark kommune" not in page


async def test_a_members_session_ends_once_it_is_suspended(ta: TrustAnchor) -> None:
    member = await onboarded(ta, "Halden kommune")
    async with ConsoleSession(ta.url, "/operator") as browser:
        request_page, url = await start_signin(browser)
        await present(ta, member, url)
        _, home, _ = await browser.submit(request_page, request_page)
        assert "Our membership: Halden kommune" in home
        status, _ = await ta.post(f"/admin/applications/{member.application_id}/suspend",
                                  {"reason": "fee unpaid"}, admin=True)
        assert status == 200
        status, page = await browser.get("/operator")
        assert status == 200
        assert "Our membership" not in page
        assert "Sign in with the organisation" in page  # signed out
        assert "credential is no longer valid" in page  # and told why


def refusal(error: DataspaceError) -> str:
    """What the console's OpenID4VP endpoint told the wallet (OAuth error: "code: why")."""
    return f"{error.extra} {error.detail}"


async def test_a_replayed_presentation_is_refused(ta: TrustAnchor) -> None:
    member = await onboarded(ta, "Halden kommune")
    async with ConsoleSession(ta.url, "/operator") as browser:
        _, url = await start_signin(browser)
        request, token = await present(ta, member, url)
        with pytest.raises(DataspaceError) as replayed:
            await submit(ta.http, request, token)
        assert "request-used" in refusal(replayed.value)
        # The same presentation for a new request carries the old nonce.
        _, second_url = await start_signin(browser)
        second = await read_request(ta, second_url)
        with pytest.raises(DataspaceError) as stale:
            await submit(ta.http, second, token)
        assert "nonce-mismatch" in refusal(stale.value)


async def test_a_revoked_member_is_refused(ta: TrustAnchor) -> None:
    member = await onboarded(ta, "Halden kommune")
    status, _ = await ta.post(f"/admin/applications/{member.application_id}/revoke",
                              {"reason": "left the data space"}, admin=True)
    assert status == 200
    async with ConsoleSession(ta.url, "/operator") as browser:
        request_page, url = await start_signin(browser)
        with pytest.raises(DataspaceError) as refused:
            await present(ta, member, url)
        assert re.search(r"credential-revoked|member-not-active", refusal(refused.value))
        status, page, final = await browser.submit(request_page, request_page)
        assert "The credential was refused" in page
        assert "/signin/organisation/" in final
        status, _ = await browser.get("/operator")
        assert status == 200  # the sign-in page: nobody is signed in
        status, page = await browser.get("/operator/account")
        assert "Our membership" not in page
        assert "Sign in" in page


async def test_the_member_credentials_api_names_each_status(ta: TrustAnchor) -> None:
    member = await onboarded(ta, "Halden kommune")
    path = f"/admin/participants/{quote(member.did, safe='')}/credentials"
    status, body = await ta.get(path)
    assert status == 401
    await ta.post(f"/admin/applications/{member.application_id}/suspend", {"reason": "audit"},
                  admin=True)
    status, body = await ta.get(path, admin=True)
    assert status == 200
    assert [(c["credential_type"], c["status"]) for c in body["items"]] == [
        ("MembershipCredential", "suspended")]
    status, body = await ta.get("/admin/participants/did%3Aweb%3Anobody.example/credentials",
                                admin=True)
    assert status == 404
    assert body["code"] == "participant-not-found"
    status, summary = await ta.get("/admin/summary", admin=True)
    assert status == 200
    assert summary["participants"]["suspended"] == 1
    assert summary["issuers"] == 1


async def test_an_api_token_acts_as_its_owner(ta: TrustAnchor) -> None:
    """The console's API tokens reach the admin API within their scopes; the audit trail
    names the token's owner, as it names the person on the pages."""
    async def token_for(email: str, roles: list[str], scopes: list[str]) -> str:
        made = await first_admin(ta.http, f"{ta.url}/admin", ta.admin_key, email=email,
                                 roles=tuple(roles))
        async with ConsoleSession(ta.url, "/operator") as browser:
            await browser.use_link(made["signin_link"])  # the account becomes active
        status, body = await ta.post("/admin/tokens", {
            "name": "script", "scopes": scopes, "account_id": made["account"]["id"]},
            admin=True)
        assert status == 201, body
        return str(body["token"])

    _, application_id = await applied(ta)
    viewer = await token_for(VIEWER, ["viewer"], ["read"])
    status, body = await ta.post(f"/admin/applications/{application_id}/approve",
                                 headers={"Authorization": f"Bearer {viewer}"})
    assert status == 403
    assert body["code"] == "token-scope"
    status, _ = await ta.get("/admin/summary", headers={"Authorization": f"Bearer {viewer}"})
    assert status == 200
    assert await state_of(ta, application_id) == "submitted"

    operator = await token_for(ADMIN, ["operator"], ["read", "manage"])
    status, body = await ta.post(f"/admin/applications/{application_id}/approve",
                                 headers={"Authorization": f"Bearer {operator}"})
    assert status == 200, body
    assert [(e["action"], e["actor"]) for e in body["application"]["history"][1:]] == [
        ("approved", ADMIN), ("credential-issued", ADMIN)]
