"""W3C VC-API over HTTP: issue as vc+jwt or eddsa-rdfc-2022, verify both, refuse bad input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from identity.clock import system_clock
from identity.keys import KeyPair
from identity.keystore import KeyStore
from identity.signer import Signer
from identity.vc import VC_V2_CONTEXT
from identity.vp_issue import issue_vp_jwt
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from tests.trust_anchor.conftest import TrustAnchor, serving

DI = "eddsa-rdfc-2022"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


def request(subject: str, proof_format: str | None = None, **subject_claims: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credential": {
            "@context": [VC_V2_CONTEXT, UNDEFINED_TERMS],
            "type": ["VerifiableCredential", "MembershipCredential"],
            "credentialSubject": {"id": subject, "memberOf": "dataspace", **subject_claims},
        },
        "options": {"validity_days": 30},
    }
    if proof_format is not None:
        body["options"]["proofFormat"] = proof_format
    return body


async def issue(ta: TrustAnchor, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await ta.post("/credentials/issue", body, admin=True)
    assert status == 201, answer
    credential: dict[str, Any] = answer["verifiableCredential"]
    return credential


async def verify(ta: TrustAnchor, credential: Any) -> tuple[int, dict[str, Any]]:
    status, answer = await ta.post("/credentials/verify", {"verifiableCredential": credential})
    return status, answer


async def test_both_proof_formats_issue_and_verify_over_http(trust_anchor: TrustAnchor) -> None:
    holder = Signer.for_did_key(KeyPair.generate()).did
    enveloped = await issue(trust_anchor, request(holder))
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["id"].startswith("data:application/vc+jwt,")
    status, answer = await verify(trust_anchor, enveloped)
    assert status == 200, answer
    assert answer["credential"]["format"] == "vc+jwt"

    secured = await issue(trust_anchor, request(holder, DI))
    proof = secured["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == DI
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"].startswith(trust_anchor.did + "#")
    assert proof["proofValue"].startswith("z")
    assert secured["issuer"] == trust_anchor.did
    assert secured["@context"] == [VC_V2_CONTEXT, UNDEFINED_TERMS]
    assert secured["credentialSubject"] == {"id": holder, "memberOf": "dataspace"}
    purposes = sorted(entry["statusPurpose"] for entry in secured["credentialStatus"])
    assert purposes == ["revocation", "suspension"]
    status, answer = await verify(trust_anchor, secured)
    assert status == 200, answer
    assert answer["verified"] is True
    assert answer["credential"]["format"] == "ldp_vc"
    assert answer["credential"]["issuer"] == trust_anchor.did
    assert "id" not in secured  # issued as given: the caller sent no id


async def test_a_tampered_data_integrity_credential_is_rejected(
    trust_anchor: TrustAnchor,
) -> None:
    holder = Signer.for_did_key(KeyPair.generate()).did
    secured = await issue(trust_anchor, request(holder, DI))
    for change in (
        lambda c: c["credentialSubject"].update(memberOf="another-dataspace"),
        lambda c: c.update(validUntil="2099-12-31T00:00:00Z"),
        lambda c: c["credentialStatus"][0].update(statusListIndex="0"),
    ):
        tampered = copy.deepcopy(secured)
        change(tampered)
        status, answer = await verify(trust_anchor, tampered)
        assert status == 400
        assert answer["verified"] is False
        assert answer["errors"] == [{"code": "proof-invalid", "message": "proof does not verify"}]


async def test_a_presentation_with_a_data_integrity_credential(trust_anchor: TrustAnchor) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    secured = await issue(trust_anchor, request(holder.did, DI))

    async def present(credential: dict[str, Any], nonce: str) -> tuple[int, Any]:
        vp = issue_vp_jwt(holder, [credential], audience=trust_anchor.did, nonce=nonce,
                          clock=system_clock)
        return await trust_anchor.post("/presentations/verify", {
            "verifiablePresentation": vp,
            "options": {"challenge": nonce, "domain": trust_anchor.did},
        })

    status, answer = await present(secured, "n-1")
    assert status == 200, answer
    assert answer["holder"] == holder.did
    tampered = copy.deepcopy(secured)
    tampered["credentialSubject"]["memberOf"] = "elsewhere"
    status, answer = await present(tampered, "n-2")
    assert status == 400
    assert answer["errors"][0]["code"] == "proof-invalid"


@pytest.mark.parametrize("proof_format", [None, DI])
async def test_only_the_operator_may_issue(
    trust_anchor: TrustAnchor, proof_format: str | None
) -> None:
    body = request(Signer.for_did_key(KeyPair.generate()).did, proof_format)
    status, answer = await trust_anchor.post("/credentials/issue", body)
    assert status == 401
    assert answer["status"] == 401
    status, _ = await trust_anchor.post(
        "/credentials/issue", body, headers={"Authorization": "Bearer not-the-key"})
    assert status == 401


async def problem(ta: TrustAnchor, body: dict[str, Any], status: int = 422) -> dict[str, Any]:
    async with ta.http.post(ta.url + "/credentials/issue", json=body, headers=ta.admin) as response:
        assert response.status == status
        assert response.content_type == "application/problem+json"
        answer: dict[str, Any] = await response.json(content_type=None)
        return answer


async def test_bad_input_is_a_problem(trust_anchor: TrustAnchor) -> None:
    holder = Signer.for_did_key(KeyPair.generate()).did
    unknown = await problem(trust_anchor, request(holder, "ldp_vc"), status=400)
    assert unknown["code"] == "validation-failed"
    assert "eddsa-rdfc-2022" in str(unknown)
    # JSON-LD that would not be signed as written is refused before anything is issued,
    # in both proof forms.
    for proof_format in (None, DI):
        remote = await problem(trust_anchor, request(holder, proof_format, address={
            "@context": "https://example.org/contexts/v1", "street": "Storgata 1"}))
        assert remote["code"] == "context-unknown"
        assert remote["pointer"] == "/@context"
        assert "never fetched" in remote["detail"]
        secured = request(holder, proof_format)
        secured["credential"]["proof"] = {"type": "DataIntegrityProof"}
        assert (await problem(trust_anchor, secured))["code"] == "credential-secured"
        foreign = request(holder, proof_format)
        foreign["credential"]["issuer"] = {"id": "did:example:someone-else", "name": "X"}
        answer = await problem(trust_anchor, foreign, status=400)
        assert (answer["code"], answer["pointer"]) == ("issuer-mismatch", "/issuer")


async def test_a_trust_anchor_without_an_ed25519_key_refuses_data_integrity(
    tmp_path: Path, database: Database
) -> None:
    port = free_port()
    settings = trust_anchor_settings(tmp_path, database, port)
    KeyStore(settings.data_dir / "keys", "test passphrase", scrypt_n=2**10).generate(
        "trust-anchor", "p256")
    async with serving(settings) as ta:
        holder = Signer.for_did_key(KeyPair.generate()).did
        status, answer = await ta.post("/credentials/issue", request(holder, DI), admin=True)
        assert status == 409
        assert answer["code"] == "proof-format-unavailable"
        enveloped = await issue(ta, request(holder))  # vc+jwt (ES256) still works
        assert (await verify(ta, enveloped))[0] == 200
