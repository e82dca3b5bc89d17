"""Round trips with didkit (SpruceID ssi): VC 1.1 JWTs both ways, Data Integrity into ours."""

from __future__ import annotations

import json
from typing import Any

import didkit
import pytest

from identity import (
    CredentialFormat,
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    VerificationError,
    issue_jwt_vc_11,
)

V1 = "https://www.w3.org/2018/credentials/v1"


def credential_11(issuer: str) -> dict[str, Any]:
    return {
        "@context": [V1, {"memberOf": "https://example.org/vocab#memberOf"}],
        "type": ["VerifiableCredential"],
        "id": "urn:uuid:6f1c",
        "issuer": issuer,
        "issuanceDate": "2024-01-01T00:00:00Z",
        "expirationDate": "2099-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:company", "memberOf": "dataspace"},
    }


@pytest.fixture
def real_time_verifier(resolver: DidResolver) -> CredentialVerifier:
    # didkit checks against the real clock, so ours does here too.
    return CredentialVerifier(resolver)


async def didkit_issue(key: KeyPair, credential: dict[str, Any], proof_format: str | None) -> str:
    # didkit insists a JWK kid equals the method id; ours is the thumbprint, so drop it.
    private = json.dumps({k: v for k, v in key.export_private_jwk().items() if k != "kid"})
    options: dict[str, Any] = {
        "proofPurpose": "assertionMethod",
        "verificationMethod": await didkit.key_to_verification_method("key", private),
    }
    if proof_format:
        options["proofFormat"] = proof_format
    return await didkit.issue_credential(json.dumps(credential), json.dumps(options), private)


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
async def test_our_vc_11_jwt_verifies_with_didkit(key_type: str) -> None:
    issuer = Signer.for_did_key(KeyPair.generate(key_type))
    token = issue_jwt_vc_11(credential_11(issuer.did), issuer)
    report = json.loads(await didkit.verify_credential(token, '{"proofFormat":"jwt"}'))
    assert report["errors"] == []
    assert "JWS" in report["checks"]
    # ... and a tampered one does not.
    header, payload, signature = token.split(".")
    bad = json.loads(
        await didkit.verify_credential(
            f"{header}.{payload}.{signature[::-1]}", '{"proofFormat":"jwt"}'
        )
    )
    assert bad["errors"]


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
async def test_didkit_vc_11_jwt_verifies_with_ours(
    real_time_verifier: CredentialVerifier, key_type: str
) -> None:
    key = KeyPair.generate(key_type)
    issuer = Signer.for_did_key(key)
    token = await didkit_issue(key, credential_11(issuer.did), "jwt")
    result = await real_time_verifier.verify(token)
    assert result.format is CredentialFormat.JWT_VC_11
    assert result.issuer == issuer.did
    assert result.subject_id == "did:example:company"
    assert result.claims["memberOf"] == "dataspace"
    assert result.kid == issuer.kid


async def test_didkit_data_integrity_credential_verifies_and_tampering_fails(
    real_time_verifier: CredentialVerifier,
) -> None:
    key = KeyPair.generate()
    issuer = Signer.for_did_key(key)
    signed = json.loads(await didkit_issue(key, credential_11(issuer.did), None))
    assert signed["proof"]["type"] == "Ed25519Signature2018"
    result = await real_time_verifier.verify(signed)
    assert result.format is CredentialFormat.LDP_VC
    assert result.issuer == issuer.did
    assert result.subject_id == "did:example:company"

    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["memberOf"] = "another-dataspace"
    with pytest.raises(VerificationError) as err:
        await real_time_verifier.verify(tampered)
    assert err.value.code == "proof-invalid"

    swapped = dict(signed, issuer=Signer.for_did_key(KeyPair.generate()).did)
    with pytest.raises(VerificationError) as err:
        await real_time_verifier.verify(swapped)
    assert err.value.code == "issuer-mismatch"


async def test_data_integrity_from_expired_or_remote_issuers_is_refused(
    real_time_verifier: CredentialVerifier,
) -> None:
    key = KeyPair.generate()
    issuer = Signer.for_did_key(key)
    expired = dict(credential_11(issuer.did), expirationDate="2024-06-01T00:00:00Z")
    with pytest.raises(VerificationError) as err:
        await real_time_verifier.verify(json.loads(await didkit_issue(key, expired, None)))
    assert err.value.code == "credential-expired"
    remote = dict(
        credential_11("did:web:issuer.example"),
        proof={"verificationMethod": "did:web:issuer.example#k"},
    )
    with pytest.raises(VerificationError) as err:
        await real_time_verifier.verify(remote)
    assert err.value.code == "did-method-not-supported"
