"""Bad input gets a clear 4xx and changes nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from identity.key_proof import create_key_proof
from identity.keys import KeyPair
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from tests.trust_anchor.conftest import TrustAnchor, apply, new_applicant

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


async def applications(ta: TrustAnchor) -> list[dict[str, Any]]:
    status, page = await ta.get("/admin/applications", admin=True)
    assert status == 200
    return list(page["items"])


async def approved_offer(ta: TrustAnchor) -> tuple[Any, dict[str, Any]]:
    applicant = new_applicant()
    status, created = await apply(ta, applicant)
    assert status == 201
    status, approved = await ta.post(f"/admin/applications/{created['id']}/approve", admin=True)
    assert status == 200
    return applicant, approved


async def token_request(ta: TrustAnchor, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with ta.http.post(f"{ta.url}/oid4vci/token", data=form) as response:
        return response.status, await response.json()


async def redeem(ta: TrustAnchor, approved: dict[str, Any],
                 tx_code: str | None = None) -> tuple[int, dict[str, Any]]:
    """The token endpoint's answer to the offer's pre-authorized code with ``tx_code``
    (by default the right one)."""
    grant = approved["credential_offer"]["grants"][PRE_AUTH]
    return await token_request(ta, {
        "grant_type": PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"],
        "tx_code": approved["tx_code"] if tx_code is None else tx_code})


async def test_a_did_the_applicant_cannot_sign_for_is_refused(trust_anchor: TrustAnchor) -> None:
    victim = new_applicant(legal_name="Victim AS")
    impostor = Signer.for_did_key(KeyPair.generate())
    status, body = await apply(trust_anchor, victim, signer=impostor)
    assert status == 401
    assert body["code"] == "proof-invalid"
    assert await applications(trust_anchor) == []


async def test_a_forged_signature_is_refused(trust_anchor: TrustAnchor) -> None:
    applicant = new_applicant()
    # The impostor claims the applicant's DID and key id but signs with its own key.
    forged = Signer(KeyPair.generate(), applicant.signer.kid)
    status, body = await apply(trust_anchor, applicant, signer=forged)
    assert status == 401
    assert body["code"] == "proof-invalid"
    assert body["reason"] == "jwt-signature-invalid"
    assert await applications(trust_anchor) == []


async def test_a_challenge_is_single_use(trust_anchor: TrustAnchor) -> None:
    applicant = new_applicant()
    status, challenge = await trust_anchor.post("/applications/challenge", {"did": applicant.did})
    proof = create_self_issued_token(applicant.signer, trust_anchor.did,
                                     extra_claims={"nonce": challenge["challenge"]})
    body = {**applicant.application(), "proof": proof}
    assert (await trust_anchor.post("/applications", body))[0] == 201
    other = create_self_issued_token(applicant.signer, trust_anchor.did,
                                     extra_claims={"nonce": challenge["challenge"]})
    status, answer = await trust_anchor.post(
        "/applications", {**applicant.application(legal_name="Again AS"), "proof": other})
    assert status == 401
    assert answer["code"] == "challenge-invalid"
    assert len(await applications(trust_anchor)) == 1


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"country": "Norway"}, "/country"),
        ({"roles": []}, "/roles"),
        ({"roles": ["provider", "provider"]}, "/roles"),
        ({"contact": {"name": "x", "email": "not-an-email"}}, "/contact/email"),
        ({"did": "did:example:123"}, "/did"),
        ({"unexpected": True}, "/unexpected"),
    ],
)
async def test_invalid_applications_list_the_field(
    trust_anchor: TrustAnchor, override: dict[str, Any], path: str
) -> None:
    status, body = await apply(trust_anchor, new_applicant(), **override)
    assert status == 400
    assert body["code"] == "validation-failed"
    assert path in {e["path"] for e in body["errors"]}
    assert await applications(trust_anchor) == []


async def test_a_pre_authorized_code_works_once(trust_anchor: TrustAnchor) -> None:
    _, approved = await approved_offer(trust_anchor)
    assert (await redeem(trust_anchor, approved))[0] == 200
    status, body = await redeem(trust_anchor, approved)
    assert status == 400
    assert body["error"] == "invalid_grant"


async def test_a_wrong_transaction_code_does_not_burn_the_offer(
    trust_anchor: TrustAnchor,
) -> None:
    _, approved = await approved_offer(trust_anchor)
    wrong = "000000" if approved["tx_code"] != "000000" else "111111"
    status, body = await redeem(trust_anchor, approved, wrong)
    assert (status, body["error"]) == (400, "invalid_grant")
    status, _ = await redeem(trust_anchor, approved)
    assert status == 200


async def _access_token(ta: TrustAnchor, approved: dict[str, Any]) -> str:
    status, token = await redeem(ta, approved)
    assert status == 200
    return str(token["access_token"])


async def _credential(ta: TrustAnchor, access_token: str, proof: str) -> tuple[int, Any]:
    return await ta.post(
        "/oid4vci/credential",
        {"credential_configuration_id": "MembershipCredential",
         "proof": {"proof_type": "jwt", "jwt": proof}},
        headers={"Authorization": f"Bearer {access_token}"},
    )


@pytest.mark.parametrize("flaw", ["wrong-nonce", "wrong-audience", "other-holder", "no-token"])
async def test_bad_key_proofs_are_refused_and_nothing_is_delivered(
    trust_anchor: TrustAnchor, flaw: str
) -> None:
    applicant, approved = await approved_offer(trust_anchor)
    access_token = await _access_token(trust_anchor, approved)
    _, nonce = await trust_anchor.post("/oid4vci/nonce")
    signer, audience, c_nonce = applicant.signer, trust_anchor.url, nonce["c_nonce"]
    if flaw == "wrong-nonce":
        c_nonce = "not-the-nonce-we-were-given"
    elif flaw == "wrong-audience":
        audience = "https://other-issuer.example"
    elif flaw == "other-holder":
        signer = Signer.for_did_key(KeyPair.generate())
    proof = create_key_proof(signer, audience, c_nonce)
    status, body = await _credential(
        trust_anchor, "not-a-token" if flaw == "no-token" else access_token, proof)
    expected = {"wrong-nonce": (400, "invalid_nonce"), "wrong-audience": (400, "invalid_proof"),
                "other-holder": (400, "invalid_proof"), "no-token": (401, "invalid_token")}
    assert (status, body["error"]) == expected[flaw]
    # Nothing was delivered: the right proof still collects the credential.
    _, nonce = await trust_anchor.post("/oid4vci/nonce")
    status, body = await _credential(
        trust_anchor, access_token, create_key_proof(applicant.signer, trust_anchor.url,
                                                     nonce["c_nonce"]))
    assert status == 200
    assert body["credentials"][0]["credential"].count(".") == 2


async def test_a_second_approval_is_refused(trust_anchor: TrustAnchor) -> None:
    status, created = await apply(trust_anchor, new_applicant())
    first = await trust_anchor.post(f"/admin/applications/{created['id']}/approve", admin=True)
    assert first[0] == 200
    status, body = await trust_anchor.post(f"/admin/applications/{created['id']}/approve",
                                           admin=True)
    assert status == 409
    assert body["code"] == "illegal-transition"
    status, view = await trust_anchor.get(f"/admin/applications/{created['id']}", admin=True)
    assert [e["to_state"] for e in view["audit"]] == ["submitted", "approved", "active"]


async def test_a_rejected_application_cannot_be_approved(trust_anchor: TrustAnchor) -> None:
    _, created = await apply(trust_anchor, new_applicant())
    assert (await trust_anchor.post(f"/admin/applications/{created['id']}/reject",
                                    {"reason": "unknown company"}, admin=True))[0] == 200
    status, body = await trust_anchor.post(f"/admin/applications/{created['id']}/approve",
                                           admin=True)
    assert (status, body["code"]) == (409, "illegal-transition")


async def test_the_same_did_cannot_apply_twice(trust_anchor: TrustAnchor) -> None:
    applicant = new_applicant()
    assert (await apply(trust_anchor, applicant))[0] == 201
    status, body = await apply(trust_anchor, applicant)
    assert (status, body["code"]) == (409, "application-exists")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/applications"),
        ("POST", "/admin/applications/p-x/approve"),
        ("POST", "/admin/applications/p-x/revoke"),
        ("PUT", "/admin/issuers/did:key:z6Mk"),
        ("POST", "/credentials/issue"),
    ],
)
async def test_admin_routes_refuse_everyone_else(
    trust_anchor: TrustAnchor, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer dsk_not-the-key"}):
        async with trust_anchor.http.request(method, trust_anchor.url + path, json={},
                                             headers=headers) as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
            assert (await response.json())["code"] == "api-key-required"


async def test_a_status_token_only_opens_its_own_application(trust_anchor: TrustAnchor) -> None:
    _, first = await apply(trust_anchor, new_applicant())
    _, second = await apply(trust_anchor, new_applicant(legal_name="Other AS"))
    status, body = await trust_anchor.get(
        f"/applications/{second['id']}",
        headers={"Authorization": f"Bearer {first['status_token']}"})
    assert (status, body["code"]) == (401, "status-token-required")


async def test_transaction_codes_cannot_be_guessed(trust_anchor: TrustAnchor) -> None:
    from trust_anchor.store.offers import MAX_TX_CODE_ATTEMPTS

    _, approved = await approved_offer(trust_anchor)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != approved["tx_code"]]
    for guess in wrong[:MAX_TX_CODE_ATTEMPTS]:
        status, body = await redeem(trust_anchor, approved, guess)
        assert (status, body["error"]) == (400, "invalid_grant")
    # The offer is burned: even the right code no longer works.
    status, body = await redeem(trust_anchor, approved)
    assert (status, body["error"]) == (400, "invalid_grant")
