"""Presentations: ``vp+jwt`` with enveloped VCs, VC 1.1 JWT VPs, and what binds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity import (
    CredentialVerifier,
    KeyPair,
    PresentationVerifier,
    Signer,
    VerificationError,
    build_credential,
    envelope_presentation,
    issue_jwt_vc_11,
    issue_jwt_vp_11,
    issue_vc_jwt,
    issue_vp_jwt,
)
from tests.fakes import FakeClock

from .conftest import Host, refusal

VERIFIER_DID = "did:web:provider.example"


def credential_for(
    issuer: Signer, subject: str, clock: FakeClock, kind: str = "MembershipCredential"
) -> str:
    now = datetime.fromtimestamp(clock.now, UTC)
    return issue_vc_jwt(
        build_credential(
            issuer=issuer.did,
            subject={"id": subject},
            types=[kind],
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30),
        ),
        issuer,
    )


@pytest.fixture
def presentations(verifier: CredentialVerifier) -> PresentationVerifier:
    return PresentationVerifier(verifier)


async def test_vp_jwt_round_trip(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    credentials = [
        credential_for(issuer, holder.did, clock),
        credential_for(issuer, holder.did, clock, "DataProductPurchase"),
    ]
    token = issue_vp_jwt(holder, credentials, audience=VERIFIER_DID, nonce="n-1", clock=clock)
    for form in (token, envelope_presentation(token)):
        result = await presentations.verify(form, audience=VERIFIER_DID, nonce="n-1")
        assert result.holder == holder.did
        assert result.nonce == "n-1"
        assert result.format == "vp+jwt"
        assert [c.types[-1] for c in result.credentials] == [
            "MembershipCredential",
            "DataProductPurchase",
        ]
        assert result.credentials_of_type("DataProductPurchase")[0].issuer == issuer.did
        assert result.presentation["verifiableCredential"][0]["id"].startswith(
            "data:application/vc+jwt,ey"
        )


async def test_vc_11_jwt_presentation(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    vc11 = issue_jwt_vc_11(
        {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "issuer": issuer.did,
            "issuanceDate": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": holder.did},
        },
        issuer,
    )
    token = issue_jwt_vp_11(
        holder,
        [vc11, credential_for(issuer, holder.did, clock)],
        audience=VERIFIER_DID,
        nonce="n",
        clock=clock,
    )
    result = await presentations.verify(token, audience=VERIFIER_DID, nonce="n")
    assert result.format == "jwt_vp"
    assert len(result.credentials) == 2


async def test_nonce_and_audience_must_match(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    token = issue_vp_jwt(
        holder,
        [credential_for(issuer, holder.did, clock)],
        audience=VERIFIER_DID,
        nonce="n-1",
        clock=clock,
    )
    refused = await refusal(presentations.verify(token, audience=VERIFIER_DID, nonce="n-2"))
    assert refused == "nonce-mismatch"
    with pytest.raises(VerificationError) as err:
        await presentations.verify(token, audience="did:web:someone-else.example", nonce="n-1")
    assert err.value.code == "jwt-audience-mismatch"
    without = issue_vp_jwt(holder, [], audience=VERIFIER_DID, nonce=None, clock=clock)
    refused = await refusal(presentations.verify(without, audience=VERIFIER_DID, nonce="n-1"))
    assert refused == "nonce-mismatch"


async def test_credentials_must_be_about_the_holder(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    someone_else = credential_for(issuer, "did:example:someone-else", clock)
    token = issue_vp_jwt(holder, [someone_else], audience=VERIFIER_DID, nonce="n", clock=clock)
    refused = await refusal(presentations.verify(token, audience=VERIFIER_DID, nonce="n"))
    assert refused == "subject-mismatch"


async def test_holder_must_sign(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    thief = Signer.for_did_key(KeyPair.generate())
    stolen = credential_for(issuer, holder.did, clock)
    payload = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
        "verifiableCredential": [],
        "aud": VERIFIER_DID,
        "nonce": "n",
    }
    with pytest.raises(VerificationError) as err:
        await presentations.verify(
            thief.sign_jwt(payload, typ="vp+jwt"), audience=VERIFIER_DID, nonce="n"
        )
    assert err.value.code == "holder-mismatch"
    with pytest.raises(VerificationError) as err:
        await presentations.verify(
            issue_vp_jwt(thief, [stolen], audience=VERIFIER_DID, nonce="n", clock=clock),
            audience=VERIFIER_DID,
            nonce="n",
            holder=holder.did,
        )
    assert err.value.code == "holder-mismatch"


async def test_vp_key_must_be_in_authentication(
    host: Host, presentations: PresentationVerifier, issuer: Signer, clock: FakeClock
) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key], relationships=("assertionMethod", "capabilityInvocation"))
    signer = Signer.for_did(key, did)
    token = issue_vp_jwt(
        signer, [credential_for(issuer, did, clock)], audience=VERIFIER_DID, nonce="n", clock=clock
    )
    refused = await refusal(presentations.verify(token, audience=VERIFIER_DID, nonce="n"))
    assert refused == "key-not-authorized"


async def test_expired_presentation_and_bad_inner_credential(
    presentations: PresentationVerifier, issuer: Signer, holder: Signer, clock: FakeClock
) -> None:
    token = issue_vp_jwt(holder, [], audience=VERIFIER_DID, nonce="n", clock=clock, lifetime=60)
    clock.advance(121)
    refused = await refusal(presentations.verify(token, audience=VERIFIER_DID, nonce="n"))
    assert refused == "jwt-expired"
    forged = Signer.for_did_key(KeyPair.generate()).sign_jwt(
        build_credential(issuer=issuer.did, subject={"id": holder.did}), typ="vc+jwt"
    )
    token = issue_vp_jwt(holder, [forged], audience=VERIFIER_DID, nonce="n", clock=clock)
    refused = await refusal(presentations.verify(token, audience=VERIFIER_DID, nonce="n"))
    assert refused == "issuer-mismatch"


async def test_unsupported_presentation_shapes(
    presentations: PresentationVerifier, holder: Signer
) -> None:
    with pytest.raises(VerificationError) as err:
        await presentations.verify({"type": "VerifiablePresentation"}, audience=None, nonce=None)
    assert err.value.code == "presentation-malformed"
    with pytest.raises(VerificationError) as err:
        await presentations.verify(
            holder.sign_jwt({"holder": holder.did}, typ="vc+jwt"), audience=None, nonce=None
        )
    assert err.value.code == "jwt-typ-mismatch"
