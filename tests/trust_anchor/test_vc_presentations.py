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
from identity.data_integrity import add_proof
from identity.encoding import b64url_encode
from identity.jose import decode_jws
from identity.keys import KeyPair
from identity.signer import Signer
from identity.vc import envelope_credential
from identity.vp_issue import envelope_presentation, issue_vp_data_integrity, issue_vp_jwt
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


def own_claim(holder: Signer, **members: Any) -> dict[str, Any]:
    """A credential ``holder`` states about itself, unsecured."""
    credential = base_credential()
    credential["issuer"] = holder.did
    credential["credentialSubject"]["id"] = holder.did
    credential.update(members)
    return credential


def presented(holder: Signer, credentials: list[dict[str, Any]], *, name_holder: bool
              ) -> dict[str, Any]:
    presentation: dict[str, Any] = {"@context": [base_credential()["@context"][0]],
                                    "type": ["VerifiablePresentation"],
                                    "verifiableCredential": credentials}
    if name_holder:
        presentation["holder"] = holder.did
    return add_proof(presentation, holder.key, verification_method=holder.kid,
                     proof_purpose="authentication", challenge=CHALLENGE)


@pytest.mark.parametrize("secured", [True, False], ids=["own-proof", "holder-claim"])
async def test_a_presentation_of_the_signers_own_credential_names_its_holder(
    trust_anchor: TrustAnchor, secured: bool
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    claim = own_claim(holder)
    if secured:
        claim = add_proof(claim, holder.key, verification_method=holder.kid)
    status, answer = await present(trust_anchor, presented(holder, [claim], name_holder=False))
    assert (status, answer["errors"][0]["code"]) == (400, "holder-required"), answer
    status, answer = await present(trust_anchor, presented(holder, [claim], name_holder=True),
                                   challenge=CHALLENGE)
    assert status == 200, answer
    assert answer["credentials"][0]["issuer"] == holder.did
    assert answer["warnings"] == []


async def test_only_the_holders_own_claims_may_go_without_a_proof(
    trust_anchor: TrustAnchor,
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    someone_else = {**own_claim(holder), "issuer": "did:example:acme"}
    status, answer = await present(
        trust_anchor, presented(holder, [someone_else], name_holder=True))
    assert (status, answer["errors"][0]["code"]) == (400, "credential-malformed"), answer
    # A holder claim is a credential like any other: the data model and its validity
    # period still apply.
    for claim, code in (
        ({**own_claim(holder), "type": ["ExampleDegreeCredential"]}, "type-invalid"),
        (own_claim(holder, validUntil="2020-01-01T00:00:00Z"), "credential-expired"),
    ):
        status, answer = await present(trust_anchor, presented(holder, [claim], name_holder=True))
        assert (status, answer["errors"][0]["code"]) == (400, code), answer
