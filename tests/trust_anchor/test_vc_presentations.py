"""``/presentations/verify``: enveloped vp+jwt and eddsa-rdfc-2022 presentations by did:key holders.

Each holds a credential the trust anchor issued (enveloped vc+jwt or Data
Integrity); each is checked good, with the wrong challenge, with the wrong
domain, and holding a tampered credential (signed by the holder as it is,
so that only the inner credential's proof is wrong).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from identity.clock import system_clock
from identity.encoding import b64url_encode
from identity.jose import decode_jws
from identity.keys import KeyPair
from identity.signer import Signer
from identity.vc import envelope_credential
from identity.vp import envelope_presentation, issue_vp_data_integrity, issue_vp_jwt
from tests.trust_anchor.conftest import TrustAnchor
from tests.trust_anchor.vc_corpus import base_credential

DI = "eddsa-rdfc-2022"
DOMAIN = "https://verifier.example.org"
CHALLENGE = "c-8f3a1e"

Presenter = Callable[[Signer, Any, str, str], Any]


def enveloped_vp(holder: Signer, credential: Any, domain: str, challenge: str) -> Any:
    token = issue_vp_jwt(holder, [credential], audience=domain, nonce=challenge,
                         clock=system_clock)
    return envelope_presentation(token)


def data_integrity_vp(holder: Signer, credential: Any, domain: str, challenge: str) -> Any:
    return issue_vp_data_integrity(holder, [credential], domain=domain, challenge=challenge)


def tamper(credential: dict[str, Any]) -> dict[str, Any]:
    """The same credential with another claim (a JWT payload re-encoded, signature kept)."""
    changed = copy.deepcopy(credential)
    if changed.get("type") == "EnvelopedVerifiableCredential":
        token = changed["id"].split(",", 1)[1]
        header, _payload, signature = token.split(".")
        claims = dict(decode_jws(token).claims())
        claims["credentialSubject"]["degree"] = "Doctor of Philosophy"
        changed = envelope_credential(
            f"{header}.{b64url_encode(orjson.dumps(claims))}.{signature}")
    else:
        changed["credentialSubject"]["degree"] = "Doctor of Philosophy"
    return changed


async def issued(ta: TrustAnchor, holder: str, proof_format: str) -> dict[str, Any]:
    credential = base_credential()
    credential["credentialSubject"]["id"] = holder
    status, answer = await ta.post("/credentials/issue", {
        "credential": credential, "options": {"proofFormat": proof_format}}, admin=True)
    assert status == 201, answer
    secured: dict[str, Any] = answer["verifiableCredential"]
    return secured


async def present(ta: TrustAnchor, presentation: Any, **options: str
                  ) -> tuple[int, dict[str, Any]]:
    status, answer = await ta.post("/presentations/verify", {
        "verifiablePresentation": presentation, "options": options})
    return status, answer


@pytest.mark.parametrize("inner", ["vc+jwt", DI])
@pytest.mark.parametrize("make", [enveloped_vp, data_integrity_vp], ids=["enveloped", "di"])
async def test_presentations_good_wrong_challenge_wrong_domain_tampered(
    trust_anchor: TrustAnchor, make: Presenter, inner: str
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    credential = await issued(trust_anchor, holder.did, inner)
    wrong_domain = "jwt-audience-mismatch" if make is enveloped_vp else "domain-mismatch"

    status, answer = await present(trust_anchor, make(holder, credential, DOMAIN, CHALLENGE),
                                   domain=DOMAIN, challenge=CHALLENGE)
    assert status == 200, answer
    assert answer["verified"] is True
    assert answer["holder"] == holder.did
    assert answer["credentials"][0]["issuer"] == trust_anchor.did
    assert answer["warnings"] == []
    assert {"domain", "challenge", "proof"} <= set(answer["checks"])

    for presentation, code in (
        (make(holder, credential, DOMAIN, "another-challenge"), "nonce-mismatch"),
        (make(holder, credential, "https://elsewhere.example.org", CHALLENGE), wrong_domain),
        (make(holder, tamper(credential), DOMAIN, CHALLENGE),
         "jwt-signature-invalid" if inner == "vc+jwt" else "proof-invalid"),
    ):
        status, answer = await present(trust_anchor, presentation,
                                       domain=DOMAIN, challenge=CHALLENGE)
        assert status == 400, answer
        assert answer["verified"] is False
        assert answer["errors"][0]["code"] == code, answer


async def test_a_tampered_data_integrity_presentation_and_a_foreign_signer(
    trust_anchor: TrustAnchor,
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    credential = await issued(trust_anchor, holder.did, DI)
    presentation = data_integrity_vp(holder, credential, DOMAIN, CHALLENGE)
    changed = copy.deepcopy(presentation)
    changed["proof"]["challenge"] = "c-other"
    status, answer = await present(trust_anchor, changed, challenge="c-other")
    assert (status, answer["errors"][0]["code"]) == (400, "proof-invalid")
    mallory = Signer.for_did_key(KeyPair.generate())
    stolen = data_integrity_vp(mallory, credential, DOMAIN, CHALLENGE)
    stolen["holder"] = holder.did  # claims to be the holder, signed by someone else
    status, answer = await present(trust_anchor, stolen)
    assert (status, answer["errors"][0]["code"]) == (400, "holder-mismatch")
    no_proof = {k: v for k, v in presentation.items() if k != "proof"}
    status, answer = await present(trust_anchor, no_proof)
    assert (status, answer["errors"][0]["code"]) == (400, "presentation-malformed")


async def test_credentials_about_someone_else_are_a_warning_not_a_refusal(
    trust_anchor: TrustAnchor,
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    credential = await issued(trust_anchor, "did:example:someone-else", DI)
    status, answer = await present(
        trust_anchor, data_integrity_vp(holder, credential, DOMAIN, CHALLENGE))
    assert status == 200, answer
    assert len(answer["warnings"]) == 1
    assert "not about the holder" in answer["warnings"][0]


@pytest.mark.parametrize("context", [[], ["https://www.w3.org/ns/credentials/examples/v2"]])
async def test_envelopes_without_the_base_context_are_refused(
    trust_anchor: TrustAnchor, context: list[str]
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    credential = await issued(trust_anchor, holder.did, "vc+jwt")
    status, answer = await trust_anchor.post("/credentials/verify", {
        "verifiableCredential": {**credential, "@context": context}})
    assert (status, answer["errors"][0]["code"]) == (400, "envelope-invalid")
    assert answer["errors"][0]["pointer"] == "/@context"
    presentation = enveloped_vp(holder, credential, DOMAIN, CHALLENGE)
    status, answer = await present(trust_anchor, {**presentation, "@context": context})
    assert (status, answer["errors"][0]["code"]) == (400, "envelope-invalid")
    status, answer = await present(trust_anchor, {**presentation,
                                                  "type": ["VerifiablePresentation"]})
    assert status == 400
    status, answer = await present(trust_anchor, presentation)
    assert status == 200, answer
