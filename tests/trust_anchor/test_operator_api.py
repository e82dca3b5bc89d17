"""The admin API behind the operator console: history, offers, members, overviews."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from identity.oid4vci_client import collect_credential
from tests.trust_anchor.conftest import Applicant, TrustAnchor, apply, new_applicant
from trust_anchor.domain.participants import ApplicationState, AuditAction
from trust_anchor.keys import SERVICES


def did_path(did: str) -> str:
    return quote(did, safe="")


async def applied(ta: TrustAnchor, applicant: Applicant | None = None,
                  **overrides: Any) -> tuple[Applicant, str]:
    applicant = applicant or new_applicant()
    status, created = await apply(ta, applicant, **overrides)
    assert status == 201, created
    return applicant, created["id"]


async def approved(ta: TrustAnchor, **overrides: Any) -> tuple[Applicant, str, dict[str, Any]]:
    applicant, application_id = await applied(ta, **overrides)
    status, body = await ta.post(f"/admin/applications/{application_id}/approve",
                                 {"reason": "register extract checked"}, admin=True)
    assert status == 200, body
    return applicant, application_id, body


async def test_the_history_names_every_step_its_actor_and_reason(
    trust_anchor: TrustAnchor,
) -> None:
    applicant, application_id, approval = await approved(trust_anchor)
    await collect_credential(trust_anchor.http, approval["credential_offer_uri"],
                             applicant.signer, tx_code=approval["tx_code"])
    for action, body in (("suspend", {"reason": "unpaid fee"}), ("reinstate", None),
                         ("revoke", {"reason": "left the data space"})):
        status, _ = await trust_anchor.post(f"/admin/applications/{application_id}/{action}",
                                            body, admin=True)
        assert status == 200
    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    assert status == 200
    steps = [(e["action"], e["actor"], e.get("reason")) for e in view["history"]]
    assert steps == [
        ("applied", applicant.did, "applied"),
        ("approved", "api-key", "register extract checked"),
        ("credential-issued", "api-key", "membership credential issued"),
        ("credential-collected", applicant.did, None),
        ("suspended", "api-key", "unpaid fee"),
        ("reinstated", "api-key", "reinstated"),
        ("revoked", "api-key", "left the data space"),
    ]
    offer_id = view["offer"]["offer_id"]
    assert approval["credential_offer_uri"].endswith(f"%2F{offer_id}")
    assert view["history"][1]["detail"] == {"offer_id": offer_id}
    assert view["history"][2]["detail"]["credential_id"] == approval["credential_id"]
    assert view["history"][3]["detail"]["offer_id"] == offer_id
    assert all(e["at"] for e in view["history"])
    assert view["history"][0].get("from_state") is None
    # `audit` keeps only the transitions: the collection changed no state.
    assert [e["action"] for e in view["audit"]] == [
        "applied", "approved", "credential-issued", "suspended", "reinstated", "revoked"]

    status, history = await trust_anchor.get(
        f"/admin/participants/{did_path(applicant.did)}/history", admin=True)
    assert status == 200
    assert history["did"] == applicant.did
    assert history["items"] == view["history"]


async def test_a_page_handler_passes_the_signed_in_operator_as_actor(
    trust_anchor: TrustAnchor,
) -> None:
    """The console calls the services with the person's email; the trail names them."""
    onboarding = trust_anchor.server.app[SERVICES].onboarding
    _, first = await applied(trust_anchor)
    _, second = await applied(trust_anchor)
    await onboarding.approve(first, actor="kari@operator.example", reason=None)
    await onboarding.suspend(first, actor="ola@operator.example", reason="audit pending")
    await onboarding.reject(second, actor="kari@operator.example", reason="unknown company")
    first_trail = (await onboarding.reviewed(first)).audit
    assert [(e.action, e.actor) for e in first_trail[1:]] == [
        (AuditAction.APPROVED, "kari@operator.example"),
        (AuditAction.CREDENTIAL_ISSUED, "kari@operator.example"),
        (AuditAction.SUSPENDED, "ola@operator.example")]
    second_trail = (await onboarding.reviewed(second)).audit
    assert (second_trail[-1].actor, second_trail[-1].reason) == ("kari@operator.example",
                                                                 "unknown company")


@pytest.mark.parametrize("action", ["reject", "suspend", "revoke"])
@pytest.mark.parametrize("reason", [None, "", "  "])
async def test_the_services_refuse_a_negative_step_without_a_reason(
    trust_anchor: TrustAnchor, action: str, reason: str | None
) -> None:
    from servicekit.errors import InvalidRequest

    onboarding = trust_anchor.server.app[SERVICES].onboarding
    _, application_id = await applied(trust_anchor)
    if action != "reject":
        await onboarding.approve(application_id)
    before = (await onboarding.reviewed(application_id)).audit
    with pytest.raises(InvalidRequest) as raised:
        await getattr(onboarding, action)(application_id, actor="kari@operator.example",
                                          reason=reason)
    assert raised.value.code == "reason-required"
    assert (await onboarding.reviewed(application_id)).audit == before


async def test_the_offer_and_tx_code_show_until_the_credential_is_collected(
    trust_anchor: TrustAnchor,
) -> None:
    applicant, application_id, approval = await approved(trust_anchor)
    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    offer = view["offer"]
    assert offer["credential_offer_uri"] == approval["credential_offer_uri"]
    assert offer["tx_code"] == approval["tx_code"]
    assert len(offer["tx_code"]) == 6
    assert (offer["collected"], offer["usable"], offer.get("collected_at")) == (False, True, None)
    assert offer["expires_at"]
    # The applicant's own view never carries the transaction code.
    status, by_did = await trust_anchor.get(f"/admin/participants/{did_path(applicant.did)}",
                                            admin=True)
    assert by_did["offer"] == offer

    await collect_credential(trust_anchor.http, offer["credential_offer_uri"], applicant.signer,
                             tx_code=offer["tx_code"])
    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    offer = view["offer"]
    # After collection (None fields are left out of answers): no URI, no code.
    assert offer["collected"] is True
    assert "credential_offer_uri" not in offer
    assert "tx_code" not in offer
    assert offer["collected_at"]


async def test_an_application_without_an_offer_has_none(trust_anchor: TrustAnchor) -> None:
    _, application_id = await applied(trust_anchor)
    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    assert status == 200
    assert "offer" not in view
    assert [e["action"] for e in view["history"]] == ["applied"]


async def test_members_are_searched_and_filtered(trust_anchor: TrustAnchor) -> None:
    halden, halden_id, _ = await approved(trust_anchor)
    market, _, _ = await approved(trust_anchor, roles=["marketplace"],
                                  legal_name="Datatorget AS")
    bergen, bergen_id, _ = await approved(trust_anchor, legal_name="Bergen_kommune 100%")
    pending, _ = await applied(trust_anchor, legal_name="Halden Pending AS")
    await trust_anchor.post(f"/admin/applications/{bergen_id}/suspend", {"reason": "fee"},
                            admin=True)

    async def dids(query: str) -> list[str]:
        status, page = await trust_anchor.get(f"/admin/participants?{query}", admin=True)
        assert status == 200, page
        return [p["did"] for p in page["items"]]

    assert await dids("") == [halden.did, market.did, bergen.did]  # no application in review
    assert await dids("q=HALDEN") == [halden.did]
    assert await dids("q=datatorget&role=marketplace") == [market.did]
    assert await dids("role=marketplace") == [market.did]
    assert await dids("role=provider") == [halden.did, bergen.did]
    assert await dids("status=suspended") == [bergen.did]
    assert await dids("status=active&status=suspended&q=kommune") == [halden.did, bergen.did]
    assert await dids("status=active&q=kommune") == [halden.did]
    assert await dids(f"q={quote(halden.did[-12:])}") == [halden.did]
    # LIKE wildcards are matched literally.
    assert await dids("q=_kommune%20100%25") == [bergen.did]
    assert await dids("q=%25") == [bergen.did]
    assert pending.did not in await dids("q=pending")
    # Keyset paging walks every member once.
    status, first = await trust_anchor.get("/admin/participants?limit=2", admin=True)
    assert len(first["items"]) == 2
    assert first["next_after"]
    status, rest = await trust_anchor.get(
        f"/admin/participants?limit=2&after={first['next_after']}", admin=True)
    assert [p["did"] for p in first["items"] + rest["items"]] == [halden.did, market.did,
                                                                   bergen.did]
    assert "next_after" not in rest
    assert first["items"][0]["id"] == halden_id


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=submitted", "invalid-status"),
        ("status=nope", "invalid-status"),
        ("role=admin", "invalid-role"),
        ("q=" + "x" * 201, "invalid-query"),
        ("limit=0", "invalid-page-size"),
        ("limit=201", "invalid-page-size"),
        ("limit=x", "invalid-page-size"),
    ],
)
async def test_bad_member_queries_are_refused(
    trust_anchor: TrustAnchor, query: str, code: str
) -> None:
    async with trust_anchor.http.get(f"{trust_anchor.url}/admin/participants?{query}",
                                     headers=trust_anchor.admin) as response:
        assert response.status == 400
        assert response.content_type == "application/problem+json"
        assert (await response.json())["code"] == code


async def test_unknown_dids_are_404(trust_anchor: TrustAnchor) -> None:
    for path in ("", "/history"):
        status, body = await trust_anchor.get(
            f"/admin/participants/{did_path('did:key:z6MkNobody')}{path}", admin=True)
        assert (status, body["code"]) == (404, "participant-not-found")


async def test_a_rejected_did_keeps_its_history_and_applies_again(
    trust_anchor: TrustAnchor,
) -> None:
    applicant, first = await applied(trust_anchor)
    await trust_anchor.post(f"/admin/applications/{first}/reject", {"reason": "no register "
                            "extract"}, admin=True)
    status, body = await trust_anchor.get(f"/admin/participants/{did_path(applicant.did)}",
                                          admin=True)
    assert (status, body["code"]) == (404, "participant-not-found")  # no live application
    _, second = await applied(trust_anchor, applicant)
    status, history = await trust_anchor.get(
        f"/admin/participants/{did_path(applicant.did)}/history", admin=True)
    assert [(e["participant_id"], e["action"]) for e in history["items"]] == [
        (first, "applied"), (first, "rejected"), (second, "applied")]
    assert history["items"][1]["reason"] == "no register extract"


async def test_issuers_are_listed_with_their_types_and_revoked(trust_anchor: TrustAnchor) -> None:
    did = "did:key:z6MkAccreditedIssuer"
    status, body = await trust_anchor.get("/admin/issuers", admin=True)
    assert [(i["did"], i["issuer_type"]) for i in body["items"]] == [
        (trust_anchor.did, "RootTAO")]
    async with trust_anchor.http.put(
        f"{trust_anchor.url}/admin/issuers/{did_path(did)}", headers=trust_anchor.admin,
        json={"issuerType": "TI", "credentialTypes": ["TrainingCredential", "AuditCredential"]},
    ) as response:
        assert response.status == 200
    status, body = await trust_anchor.get("/admin/issuers", admin=True)
    entry = next(i for i in body["items"] if i["did"] == did)
    assert (entry["issuer_type"], entry["credential_types"]) == (
        "TI", ["AuditCredential", "TrainingCredential"])
    assert body["total"] == 2
    async with trust_anchor.http.delete(f"{trust_anchor.url}/admin/issuers/{did_path(did)}",
                                        headers=trust_anchor.admin) as response:
        assert response.status == 200
    status, body = await trust_anchor.get("/admin/issuers?limit=1", admin=True)
    assert len(body["items"]) == 1
    assert body["next_after"]
    status, rest = await trust_anchor.get(f"/admin/issuers?limit=1&after="
                                          f"{quote(body['next_after'], safe='')}", admin=True)
    revoked = next(i for i in body["items"] + rest["items"] if i["did"] == did)
    assert (revoked["issuer_type"], revoked["credential_types"]) == (
        "Revoked", ["AuditCredential", "TrainingCredential"])


@pytest.mark.parametrize(
    "body",
    [
        {"issuerType": "TI", "credentialTypes": []},
        {"issuerType": "TI", "credentialTypes": [""]},
        {"issuerType": "TI", "credentialTypes": ["has space"]},
        {"issuerType": "Boss", "credentialTypes": ["X"]},
        {"credentialTypes": ["X"]},
    ],
    ids=["no-types", "empty-type", "bad-type", "bad-issuer-type", "no-issuer-type"],
)
async def test_bad_accreditations_are_refused_and_store_nothing(
    trust_anchor: TrustAnchor, body: dict[str, Any]
) -> None:
    did = "did:key:z6MkNotAccredited"
    async with trust_anchor.http.put(f"{trust_anchor.url}/admin/issuers/{did_path(did)}",
                                     headers=trust_anchor.admin, json=body) as response:
        assert response.status == 400
        assert response.content_type == "application/problem+json"
    status, _ = await trust_anchor.get(f"/v4/issuers/{did_path(did)}")
    assert status == 404


async def test_revoking_an_unknown_issuer_is_404(trust_anchor: TrustAnchor) -> None:
    async with trust_anchor.http.delete(
        f"{trust_anchor.url}/admin/issuers/{did_path('did:key:z6MkNobody')}",
        headers=trust_anchor.admin,
    ) as response:
        assert response.status == 404
        assert (await response.json())["code"] == "issuer-not-found"


@pytest.mark.parametrize("path", ["/admin/issuers", "/admin/status-lists"])
@pytest.mark.parametrize("size", ["0", "201", "-1", "x"])
async def test_bad_overview_page_sizes_are_refused(
    trust_anchor: TrustAnchor, path: str, size: str
) -> None:
    status, body = await trust_anchor.get(f"{path}?limit={size}", admin=True)
    assert (status, body["code"]) == (400, "invalid-page-size")


async def test_credential_types_count_what_was_issued(trust_anchor: TrustAnchor) -> None:
    status, body = await trust_anchor.get("/admin/credential-types", admin=True)
    assert status == 200
    membership = body["items"][0]
    assert membership["type"] == "MembershipCredential"
    assert membership["schema_url"] == f"{trust_anchor.url}/schemas/MembershipCredential.json"
    assert (membership["issued"], membership["on_approval"]) == (0, True)
    assert [t["type"] for t in body["items"]] == [
        "MembershipCredential", "DataProductPurchaseCredential"]

    await approved(trust_anchor)
    _, second, _ = await approved(trust_anchor)
    _, third, _ = await approved(trust_anchor)
    await trust_anchor.post(f"/admin/applications/{second}/suspend", {"reason": "fee"},
                            admin=True)
    await trust_anchor.post(f"/admin/applications/{third}/revoke", {"reason": "left"},
                            admin=True)
    status, body = await trust_anchor.get("/admin/credential-types", admin=True)
    membership = body["items"][0]
    assert {k: membership[k] for k in ("issued", "active", "suspended", "revoked", "expired")} \
        == {"issued": 3, "active": 1, "suspended": 1, "revoked": 1, "expired": 0}
    status, schema = await trust_anchor.get(
        membership["schema_url"].removeprefix(trust_anchor.url))
    assert status == 200
    assert schema["$id"] == membership["schema_url"]


async def test_credential_types_are_operator_only(trust_anchor: TrustAnchor) -> None:
    for path in ("/admin/credential-types", "/admin/status-lists", "/admin/issuers",
                 "/admin/participants", "/admin/participants/did:key:z6Mk/history"):
        status, body = await trust_anchor.get(path, headers={"Authorization": "Bearer nope"})
        assert (status, body["code"]) == (401, "api-key-required"), path


async def test_status_lists_say_how_full_they_are(trust_anchor: TrustAnchor) -> None:
    status, body = await trust_anchor.get("/admin/status-lists", admin=True)
    assert (status, body["items"]) == (200, [])
    _, first, _ = await approved(trust_anchor)
    _, second, _ = await approved(trust_anchor)
    await trust_anchor.post(f"/admin/applications/{first}/revoke", {"reason": "left"},
                            admin=True)
    await trust_anchor.post(f"/admin/applications/{second}/suspend", {"reason": "fee"},
                            admin=True)
    status, body = await trust_anchor.get("/admin/status-lists", admin=True)
    by_purpose = {item["purpose"]: item for item in body["items"]}
    assert set(by_purpose) == {"revocation", "suspension"}
    for purpose in ("revocation", "suspension"):
        item = by_purpose[purpose]
        assert (item["used"], item["set_bits"], item["size"]) == (2, 1, 131_072)
        assert item["url"] == f"{trust_anchor.url}/status/{item['id']}"
        async with trust_anchor.http.get(item["url"]) as response:
            assert response.status == 200
    assert "next_after" not in body
    status, page = await trust_anchor.get("/admin/status-lists?limit=1", admin=True)
    assert len(page["items"]) == 1
    assert page["next_after"] == page["items"][0]["id"]


def test_old_audit_rows_get_their_action_from_the_states() -> None:
    s = ApplicationState
    assert AuditAction.of_transition(None, s.SUBMITTED) is AuditAction.APPLIED
    assert AuditAction.of_transition(s.APPROVED, s.ACTIVE) is AuditAction.CREDENTIAL_ISSUED
    assert AuditAction.of_transition(s.SUSPENDED, s.ACTIVE) is AuditAction.REINSTATED
    assert AuditAction.of_transition(s.ACTIVE, s.REVOKED) is AuditAction.REVOKED
