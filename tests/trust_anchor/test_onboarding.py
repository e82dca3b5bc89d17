"""Onboarding end to end: apply, approve, collect over OID4VCI, verify, revoke, suspend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from identity.errors import VerificationError
from identity.oid4vci_client import collect_credential
from identity.resolver import DidResolver
from identity.status_check import StatusListChecker
from identity.vc_verify import CredentialVerifier
from servicekit.http import create_client_session
from tests.fakes import FakeClock
from tests.trust_anchor.conftest import TrustAnchor, apply, new_applicant


async def onboard(ta: TrustAnchor, applicant) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Apply, approve and collect; returns (application id, credential)."""
    status, created = await apply(ta, applicant)
    assert status == 201, created
    status, approved = await ta.post(f"/admin/applications/{created['id']}/approve",
                                     {"reason": "documents checked"}, admin=True)
    assert status == 200, approved
    # The applicant follows its application with its status token and finds the offer.
    status, view = await ta.get(created["location"],
                                headers={"Authorization": f"Bearer {created['status_token']}"})
    assert status == 200
    assert view["status"] == "active"
    assert view["credential_offer_uri"] == approved["credential_offer_uri"]
    credential = await collect_credential(ta.http, view["credential_offer_uri"],
                                          applicant.signer, tx_code=approved["tx_code"])
    return created["id"], credential


@asynccontextmanager
async def verifier(clock: FakeClock) -> AsyncIterator[CredentialVerifier]:
    """A verifier on ``clock`` that caches status lists for 60 s."""
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True, clock=clock)
        checker = StatusListChecker(session=session, allow_loopback=True, ttl=60, clock=clock)
        yield CredentialVerifier(resolver, clock=clock, status_checker=checker)


async def test_a_participant_is_onboarded_and_its_credential_verifies(
    trust_anchor: TrustAnchor,
) -> None:
    applicant = new_applicant()
    application_id, credential = await onboard(trust_anchor, applicant)
    async with verifier(FakeClock(time.time())) as check:
        verified = await check.verify(credential)
    assert verified.issuer == trust_anchor.did
    assert verified.subject_id == applicant.did
    assert verified.has_type("MembershipCredential")
    assert verified.claims["legalName"] == "Halden kommune"
    assert sorted(verified.claims["roles"]) == ["consumer", "provider"]
    assert {s["statusPurpose"] for s in verified.status} == {"revocation", "suspension"}

    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    assert [(e.get("from_state"), e["to_state"]) for e in view["audit"]] == [
        (None, "submitted"), ("submitted", "approved"), ("approved", "active")]
    assert view["audit"][1]["reason"] == "documents checked"
    status, listed = await trust_anchor.get(f"/participants/{_encode(applicant.did)}")
    assert status == 200
    assert listed["status"] == "active"


async def test_revocation_is_seen_once_the_status_list_is_refetched(
    trust_anchor: TrustAnchor,
) -> None:
    applicant = new_applicant()
    application_id, credential = await onboard(trust_anchor, applicant)
    clock = FakeClock(time.time())
    async with verifier(clock) as check:
        await check.verify(credential)
        status, body = await trust_anchor.post(
            f"/admin/applications/{application_id}/revoke", {"reason": "left"}, admin=True)
        assert status == 200, body
        await check.verify(credential)  # the list is cached for 60 s: still fine
        clock.now += 61
        with pytest.raises(VerificationError) as caught:
            await check.verify(credential)
    assert caught.value.code == "credential-revoked"
    status, listed = await trust_anchor.get(f"/participants/{_encode(applicant.did)}")
    assert listed["status"] == "revoked"
    # Revocation is final.
    status, body = await trust_anchor.post(
        f"/admin/applications/{application_id}/reinstate", admin=True)
    assert status == 409
    assert body["code"] == "illegal-transition"


async def test_suspension_and_reinstatement(trust_anchor: TrustAnchor) -> None:
    application_id, credential = await onboard(trust_anchor, new_applicant())
    clock = FakeClock(time.time())
    async with verifier(clock) as check:
        await trust_anchor.post(f"/admin/applications/{application_id}/suspend",
                                {"reason": "unpaid fee"}, admin=True)
        with pytest.raises(VerificationError) as caught:
            await check.verify(credential)
        assert caught.value.code == "credential-suspended"
        status, _ = await trust_anchor.post(
            f"/admin/applications/{application_id}/reinstate", {"reason": "paid"}, admin=True)
        assert status == 200
        clock.now += 61
        verified = await check.verify(credential)
    assert verified.has_type("MembershipCredential")


def _encode(did: str) -> str:
    from urllib.parse import quote

    return quote(did, safe="")


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "   "}],
                         ids=["no-body", "no-reason", "empty", "blank"])
async def test_a_negative_step_needs_a_reason_and_changes_nothing_without(
    trust_anchor: TrustAnchor, body: dict[str, str] | None
) -> None:
    """Rejecting, suspending and revoking tell the participant why: 400 without a reason."""
    _, submitted = await apply(trust_anchor, new_applicant())
    member, _credential = await onboard(trust_anchor, new_applicant())
    for application_id, action in ((submitted["id"], "reject"), (member, "suspend"),
                                   (member, "revoke")):
        status, problem = await trust_anchor.post(
            f"/admin/applications/{application_id}/{action}", body, admin=True)
        assert status == 400, (action, problem)
        assert problem["code"] == "validation-failed"
        assert problem["errors"][0]["path"].endswith("reason"), problem
    status, view = await trust_anchor.get(f"/admin/applications/{submitted['id']}", admin=True)
    assert view["status"] == "submitted"
    assert len(view["audit"]) == 1
    status, view = await trust_anchor.get(f"/admin/applications/{member}", admin=True)
    assert view["status"] == "active"


async def test_the_audit_trail_always_says_why(trust_anchor: TrustAnchor) -> None:
    """Approve and reinstate without a reason record a default; the others record theirs."""
    _, created = await apply(trust_anchor, new_applicant())
    status, _ = await trust_anchor.post(f"/admin/applications/{created['id']}/approve",
                                        admin=True)
    assert status == 200
    for action, body in (("suspend", {"reason": "unpaid fee"}), ("reinstate", None),
                         ("revoke", {"reason": "left the data space"})):
        status, answer = await trust_anchor.post(
            f"/admin/applications/{created['id']}/{action}", body, admin=True)
        assert status == 200, answer
    status, view = await trust_anchor.get(f"/admin/applications/{created['id']}", admin=True)
    assert [(e["to_state"], e["reason"]) for e in view["audit"][1:]] == [
        ("approved", "approved"), ("active", "membership credential issued"),
        ("suspended", "unpaid fee"), ("active", "reinstated"),
        ("revoked", "left the data space")]


async def test_the_api_description_says_which_steps_need_a_reason(
    trust_anchor: TrustAnchor,
) -> None:
    async with trust_anchor.http.get(trust_anchor.url + "/openapi.json") as response:
        paths = (await response.json())["paths"]
    for step, required in [("reject", True), ("suspend", True), ("revoke", True),
                           ("reinstate", False)]:
        operation = paths[f"/admin/applications/{{application_id}}/{step}"]["post"]
        assert operation["description"].startswith(f"{step.capitalize()} a participant;")
        assert ("reason` is required" in operation["description"]) is required
