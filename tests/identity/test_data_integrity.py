"""Data Integrity ``eddsa-rdfc-2022``: the W3C test vectors, issue and verify, and attacks."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity import (
    CredentialFormat,
    CredentialVerifier,
    DidResolver,
    KeyPair,
    PresentationVerifier,
    Signer,
    StatusList,
    StatusListChecker,
    VerificationError,
    build_credential,
    build_status_list_credential,
    issue_vc_jwt,
    issue_vp_jwt,
    status_list_entry,
)
from identity.data_integrity import (
    UNDEFINED_TERMS_V2_CONTEXT,
    add_proof,
    check_proof,
    hash_data,
    issue_data_integrity,
    verify_eddsa_rdfc_2022,
)
from identity.did_key import public_key_from_did_key
from identity.encoding import multibase_decode, multibase_encode, varint_decode
from identity.jsonld import canonicalize, document_loader
from tests.fakes import FakeClock

from .conftest import Host, refusal

FIXTURES = Path(__file__).parent / "fixtures"
VECTORS: dict[str, Any] = json.loads((FIXTURES / "eddsa-rdfc-2022-vectors.json").read_text())
EXAMPLES_LOADER = document_loader(
    {
        "https://www.w3.org/ns/credentials/examples/v2": json.loads(
            (FIXTURES / "credentials-examples-v2.jsonld").read_text()
        )
    }
)


def vector_key() -> KeyPair:
    secret = multibase_decode(VECTORS["keyPair"]["secretKeyMultibase"])
    codec, used = varint_decode(secret)
    assert codec == 0x1300  # ed25519-priv
    return KeyPair(Ed25519PrivateKey.from_private_bytes(secret[used:]))


# --- the W3C test vectors (Data Integrity EdDSA Cryptosuites v1.0, Appendix B.1) ---


def test_vector_canonical_forms_and_hashes() -> None:
    credential = VECTORS["credentialWithoutProof"]
    options = VECTORS["proofOptions"]
    canonical = canonicalize(credential, loader=EXAMPLES_LOADER)
    assert canonical == VECTORS["canonicalCredential"]
    assert hashlib.sha256(canonical.encode()).hexdigest() == VECTORS["credentialHashHex"]
    canonical_options = canonicalize(options, loader=EXAMPLES_LOADER)
    assert canonical_options == VECTORS["canonicalProofOptions"]
    assert hashlib.sha256(canonical_options.encode()).hexdigest() == VECTORS["proofOptionsHashHex"]
    assert (
        hash_data(credential, options, loader=EXAMPLES_LOADER).hex() == VECTORS["combinedHashHex"]
    )


def test_vector_signature_and_signed_credential_reproduce_exactly() -> None:
    key = vector_key()
    assert (
        multibase_encode(b"\xed\x01" + key.public_key.public_bytes_raw())
        == (VECTORS["keyPair"]["publicKeyMultibase"])
    )
    options = VECTORS["proofOptions"]
    signed = add_proof(
        VECTORS["credentialWithoutProof"],
        key,
        verification_method=options["verificationMethod"],
        created=datetime.fromisoformat(options["created"]),
        loader=EXAMPLES_LOADER,
    )
    assert signed == VECTORS["signedCredential"]
    assert json.dumps(signed) == json.dumps(VECTORS["signedCredential"])  # member order too
    assert multibase_decode(signed["proof"]["proofValue"]).hex() == VECTORS["signatureHex"]


def test_vector_verifies_with_the_published_key_and_fails_when_tampered() -> None:
    public_key = public_key_from_did_key(
        VECTORS["keyPair"]["publicKeyMultibase"].join(["did:key:", ""])
    )
    signed = VECTORS["signedCredential"]
    assert (
        check_proof(signed, public_key, loader=EXAMPLES_LOADER)["created"] == "2023-02-24T23:36:38Z"
    )
    for path, value in [
        (("credentialSubject", "alumniOf"), "The School of Forgeries"),
        (("validFrom",), "2022-01-01T00:00:00Z"),
        (("proof", "created"), "2023-02-24T23:36:39Z"),
        (("proof", "proofPurpose"), "authentication"),
    ]:
        tampered = copy.deepcopy(signed)
        target = tampered
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(VerificationError) as err:
            check_proof(tampered, public_key, loader=EXAMPLES_LOADER)
        assert err.value.code == "proof-invalid", path


async def test_vector_credential_is_refused_as_a_credential(resolver: DidResolver) -> None:
    # Its issuer (https://vc.example/...) is not the did:key that signed it.
    with pytest.raises(VerificationError) as err:
        await verify_eddsa_rdfc_2022(
            VECTORS["signedCredential"], resolver, current=1.7e9, skew=60, loader=EXAMPLES_LOADER
        )
    assert err.value.code == "issuer-mismatch"


# --- issuing and verifying credentials ---


def member(issuer: str, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    now = datetime.fromtimestamp(clock.now, UTC)
    fields: dict[str, Any] = {
        "valid_from": now - timedelta(minutes=1),
        "valid_until": now + timedelta(days=365),
        **extra,
    }
    return build_credential(
        issuer=issuer,
        subject={"id": "did:example:company", "memberOf": "dataspace"},
        types=["MembershipCredential"],
        id="urn:uuid:0b5d6a2c",
        contexts=[UNDEFINED_TERMS_V2_CONTEXT],
        **fields,
    )


async def test_issue_and_verify_with_a_did_key_issuer(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    created = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    signed = issue_data_integrity(member(issuer.did, clock), issuer, created=created)
    proof = signed["proof"]
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-06-15T12:00:00Z",
        "verificationMethod": issuer.kid,
        "proofPurpose": "assertionMethod",
        "proofValue": proof["proofValue"],
    }
    assert proof["proofValue"].startswith("z")
    assert len(multibase_decode(proof["proofValue"])) == 64
    result = await verifier.verify(signed)
    assert result.format is CredentialFormat.LDP_VC
    assert result.issuer == issuer.did
    assert result.kid == issuer.kid
    assert result.subject_id == "did:example:company"
    assert result.claims["memberOf"] == "dataspace"
    assert result.types == ("VerifiableCredential", "MembershipCredential")
    assert result.valid_until == datetime.fromtimestamp(clock.now, UTC) + timedelta(days=365)


async def test_did_web_issuer_is_resolved_through_our_resolver(
    host: Host, verifier: CredentialVerifier, clock: FakeClock
) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key])
    signed = issue_data_integrity(member(did, clock), Signer.for_did(key, did))
    assert (await verifier.verify(signed)).issuer == did
    assert host.hits == ["/.well-known/did.json"]


async def test_key_outside_assertion_method_is_refused(
    host: Host, verifier: CredentialVerifier, clock: FakeClock
) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key], relationships=("authentication",))
    signed = issue_data_integrity(member(did, clock), Signer.for_did(key, did))
    assert await refusal(verifier.verify(signed)) == "key-not-authorized"


async def test_key_that_is_not_in_the_did_document(
    host: Host, verifier: CredentialVerifier, clock: FakeClock
) -> None:
    did = host.publish_did([KeyPair.generate()])
    stranger = Signer.for_did(KeyPair.generate(), did)
    refused = await refusal(verifier.verify(issue_data_integrity(member(did, clock), stranger)))
    assert refused == "key-not-found"


async def test_signer_that_is_not_the_issuer(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    other = Signer.for_did_key(KeyPair.generate())
    with pytest.raises(VerificationError) as err:
        issue_data_integrity(member(other.did, clock), issuer)
    assert err.value.code == "issuer-mismatch"
    # Signed by one key, claiming another issuer: refused before any resolution.
    forged = add_proof(member(other.did, clock), issuer.key, verification_method=issuer.kid)
    assert await refusal(verifier.verify(forged)) == "issuer-mismatch"


@pytest.fixture
def signed(issuer: Signer, clock: FakeClock) -> dict[str, Any]:
    """A membership credential the issuer signed (eddsa-rdfc-2022)."""
    return issue_data_integrity(member(issuer.did, clock), issuer)


async def test_tampering_anywhere_is_proof_invalid(
    verifier: CredentialVerifier, signed: dict[str, Any]
) -> None:
    changes = [
        lambda c: c["credentialSubject"].update(memberOf="another-dataspace"),
        lambda c: c["credentialSubject"].update(id="did:example:mallory"),
        lambda c: c.update(validUntil="2099-01-01T00:00:00Z"),
        lambda c: c["type"].append("AdminCredential"),
        lambda c: c["proof"].update(created="2020-01-01T00:00:00Z"),
        lambda c: c["proof"].update(proofValue="z" + "1" * 86),
    ]
    for change in changes:
        tampered = copy.deepcopy(signed)
        change(tampered)
        assert await refusal(verifier.verify(tampered)) == "proof-invalid"


async def test_malformed_proofs(
    verifier: CredentialVerifier, signed: dict[str, Any]
) -> None:
    cases = [
        ({"proofValue": "uAAAA"}, "proof-invalid"),
        ({"proofValue": "zshort"}, "proof-invalid"),
        ({"proofPurpose": "authentication"}, "key-not-authorized"),
        ({"verificationMethod": "https://example.org/key"}, "credential-malformed"),
        ({"created": "yesterday"}, "credential-malformed"),
    ]
    for change, code in cases:
        broken = {**signed, "proof": {**signed["proof"], **change}}
        with pytest.raises(VerificationError) as err:
            await verifier.verify(broken)
        assert err.value.code == code, change
    with pytest.raises(VerificationError) as err:
        await verifier.verify({**signed, "proof": [signed["proof"], signed["proof"]]})
    assert err.value.code == "credential-malformed"


async def test_validity_period_and_proof_expiry(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)
    expired = member(issuer.did, clock, valid_from=now - timedelta(hours=2),
                     valid_until=now - timedelta(hours=1))
    refused = await refusal(verifier.verify(issue_data_integrity(expired, issuer)))
    assert refused == "credential-expired"
    early = member(issuer.did, clock, valid_from=now + timedelta(hours=1))
    refused = await refusal(verifier.verify(issue_data_integrity(early, issuer)))
    assert refused == "credential-not-yet-valid"
    # A proof with an expiry is signed with it; past it, the proof is over.
    credential = member(issuer.did, clock)
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-06-15T00:00:00Z",
        "expires": "2025-06-15T12:00:00Z",
        "verificationMethod": issuer.kid,
        "proofPurpose": "assertionMethod",
    }
    proof["proofValue"] = multibase_encode(issuer.key.sign(hash_data(credential, proof)))
    with pytest.raises(VerificationError) as err:
        await verifier.verify({**credential, "proof": proof})
    assert err.value.code == "proof-invalid"
    assert "expired" in err.value.detail


async def test_only_ed25519_keys_and_vc_2_credentials(
    verifier: CredentialVerifier, clock: FakeClock, host: Host
) -> None:
    p256 = Signer.for_did_key(KeyPair.generate("p256"))
    with pytest.raises(VerificationError) as err:
        issue_data_integrity(member(p256.did, clock), p256)
    assert err.value.code == "key-unsupported"
    # A proof naming a P-256 method is refused at the key, whatever the bytes.
    p256_key = KeyPair.generate("p256")
    did = host.publish_did([p256_key])
    credential = member(did, clock)
    ed_key = KeyPair.generate()
    forged = add_proof(credential, ed_key, verification_method=f"{did}#{p256_key.kid}")
    assert await refusal(verifier.verify(forged)) == "key-unsupported"
    issuer = Signer.for_did_key(KeyPair.generate())
    v11 = {**member(issuer.did, clock), "@context": ["https://www.w3.org/2018/credentials/v1"]}
    with pytest.raises(VerificationError) as err:
        issue_data_integrity(v11, issuer)
    assert err.value.code == "credential-malformed"


async def test_unknown_contexts_and_undefined_terms_are_refused(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock, host: Host
) -> None:
    plain = {**member(issuer.did, clock), "@context": ["https://www.w3.org/ns/credentials/v2"]}
    with pytest.raises(VerificationError) as err:
        issue_data_integrity(plain, issuer)  # memberOf would go unsigned
    assert err.value.code == "credential-malformed"
    assert "memberOf" in err.value.detail
    signed = issue_data_integrity(member(issuer.did, clock), issuer)
    remote = {**signed, "@context": [*signed["@context"], host.base_url + "/ctx"]}
    assert await refusal(verifier.verify(remote)) == "credential-malformed"
    assert host.hits == []


async def test_status_is_checked(
    host: Host, resolver: DidResolver, issuer: Signer, clock: FakeClock
) -> None:
    revoked = StatusList()
    revoked.set(7)
    url = f"{host.base_url}/status/revocation"
    host.publish(
        "/status/revocation",
        issue_vc_jwt(
            build_status_list_credential(
                id=url, issuer=issuer.did, status_list=revoked, purpose="revocation"
            ),
            issuer,
        ),
    )

    def credential(index: int) -> dict[str, Any]:
        entry = status_list_entry(list_credential=url, index=index, purpose="revocation")
        return issue_data_integrity(member(issuer.did, clock, status=[entry]), issuer)

    checker = StatusListChecker(allow_loopback=True, clock=clock)
    try:
        verifier = CredentialVerifier(resolver, clock=clock, status_checker=checker)
        assert (await verifier.verify(credential(8))).status[0]["statusListIndex"] == "8"
        assert await refusal(verifier.verify(credential(7))) == "credential-revoked"
    finally:
        await checker.close()


@pytest.fixture
def presentations(verifier: CredentialVerifier) -> PresentationVerifier:
    return PresentationVerifier(verifier)


async def test_a_presentation_may_carry_data_integrity_credentials(
    presentations: PresentationVerifier, issuer: Signer, clock: FakeClock
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    credential = member(issuer.did, clock)
    credential["credentialSubject"]["id"] = holder.did
    signed = issue_data_integrity(credential, issuer)
    vp = issue_vp_jwt(holder, [signed], audience="did:example:verifier", nonce="n-1", clock=clock)
    result = await presentations.verify(vp, audience="did:example:verifier", nonce="n-1")
    assert result.credentials[0].format is CredentialFormat.LDP_VC
    assert result.credentials[0].issuer == issuer.did
    signed["credentialSubject"]["memberOf"] = "elsewhere"
    vp = issue_vp_jwt(holder, [signed], audience="did:example:verifier", nonce="n-2", clock=clock)
    refused = await refusal(presentations.verify(vp, audience="did:example:verifier", nonce="n-2"))
    assert refused == "proof-invalid"
