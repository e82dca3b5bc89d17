"""Round trips with didkit (SpruceID ssi): VC 1.1 JWTs and Linked Data proofs, both ways.

Each side checks the other's output with its own implementation: didkit's
``Ed25519Signature2018`` proofs are verified here with our RDFC-1.0
canonicalization, our DID resolver and ``cryptography`` (no didkit call), and
a proof made with the same code of ours is handed to didkit alone. Our
``CredentialVerifier`` itself checks such legacy proofs through didkit (see
:mod:`identity.data_integrity`); the last tests cover what it adds around that.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import didkit
import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from identity import (
    CredentialFormat,
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    VerificationError,
    issue_jwt_vc_11,
)
from identity.encoding import b64url_decode, b64url_encode
from identity.jsonld import canonicalize
from tests.identity.conftest import refusal

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


_JWS_HEADER = b64url_encode(orjson.dumps({"alg": "EdDSA", "b64": False, "crit": ["b64"]}))


def ed25519_2018_signing_input(document: dict[str, Any], proof: dict[str, Any],
                               header: str) -> bytes:
    """What an ``Ed25519Signature2018`` detached JWS signs, computed with our JSON-LD code.

    ``header || "." || sha256(canonical proof options) || sha256(canonical document)``,
    the proof options being the proof without its ``jws``, under the document's context.
    """
    options = {"@context": document["@context"],
               **{k: v for k, v in proof.items() if k != "jws"}}
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return (header.encode("ascii") + b"."
            + hashlib.sha256(canonicalize(options).encode()).digest()
            + hashlib.sha256(canonicalize(unsigned).encode()).digest())


async def check_ed25519_2018(document: dict[str, Any], resolver: DidResolver) -> None:
    """Verify an ``Ed25519Signature2018`` proof with our resolver and ``cryptography``."""
    proof = document["proof"]
    assert proof["type"] == "Ed25519Signature2018"
    header, _, signature = proof["jws"].partition("..")
    assert orjson.loads(b64url_decode(header)) == {"alg": "EdDSA", "b64": False,
                                                   "crit": ["b64"]}
    method = await resolver.verification_method(proof["verificationMethod"], "assertionMethod")
    assert isinstance(method.public_key, Ed25519PublicKey)
    method.public_key.verify(b64url_decode(signature),
                             ed25519_2018_signing_input(document, proof, header))


def sign_ed25519_2018(document: dict[str, Any], issuer: Signer) -> dict[str, Any]:
    """``document`` with an ``Ed25519Signature2018`` proof made by our code."""
    proof = {"type": "Ed25519Signature2018", "proofPurpose": "assertionMethod",
             "verificationMethod": issuer.kid, "created": "2026-01-01T00:00:00Z"}
    signature = issuer.key.sign(ed25519_2018_signing_input(document, proof, _JWS_HEADER))
    return {**document, "proof": {**proof, "jws": f"{_JWS_HEADER}..{b64url_encode(signature)}"}}


async def test_didkit_linked_data_proof_verifies_with_our_own_code(
    resolver: DidResolver,
) -> None:
    key = KeyPair.generate()
    issuer = Signer.for_did_key(key)
    signed = json.loads(await didkit_issue(key, credential_11(issuer.did), None))
    await check_ed25519_2018(signed, resolver)  # no didkit involved

    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["memberOf"] = "another-dataspace"
    with pytest.raises(InvalidSignature):
        await check_ed25519_2018(tampered, resolver)
    other = Signer.for_did_key(KeyPair.generate())
    stolen = dict(signed, proof=dict(signed["proof"], verificationMethod=other.kid))
    with pytest.raises(InvalidSignature):
        await check_ed25519_2018(stolen, resolver)


async def test_our_linked_data_proof_verifies_with_didkit(resolver: DidResolver) -> None:
    issuer = Signer.for_did_key(KeyPair.generate())
    ours = sign_ed25519_2018(credential_11(issuer.did), issuer)
    options = '{"proofPurpose":"assertionMethod"}'
    report = json.loads(await didkit.verify_credential(json.dumps(ours), options))
    assert report == {"checks": ["proof"], "warnings": [], "errors": []}
    await check_ed25519_2018(ours, resolver)

    tampered = json.loads(json.dumps(ours))
    tampered["credentialSubject"]["memberOf"] = "another-dataspace"
    report = json.loads(await didkit.verify_credential(json.dumps(tampered), options))
    assert report["errors"]


async def test_our_verifier_takes_didkit_linked_data_proofs_and_refuses_tampering(
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
    assert await refusal(real_time_verifier.verify(tampered)) == "proof-invalid"

    swapped = dict(signed, issuer=Signer.for_did_key(KeyPair.generate()).did)
    assert await refusal(real_time_verifier.verify(swapped)) == "issuer-mismatch"


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
    assert await refusal(real_time_verifier.verify(remote)) == "did-method-not-supported"
