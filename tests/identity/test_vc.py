"""VC 2.0 ``vc+jwt`` and VC 1.1 JWT: issue, verify, and the ways verification must fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity import (
    CredentialFormat,
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    TokenCache,
    VerificationError,
    VerifiedCredential,
    build_credential,
    encode_jws,
    envelope_credential,
    issue_jwt_vc_11,
    issue_vc_jwt,
)
from tests.fakes import FakeClock

from .conftest import Host, refusal


def member(issuer: str, clock: FakeClock, **extra: object) -> dict[str, object]:
    now = datetime.fromtimestamp(clock.now, UTC)
    return build_credential(
        issuer=issuer,
        subject={"id": "did:example:company", "memberOf": "dataspace"},
        types=["MembershipCredential"],
        id="urn:uuid:0b5d6a2c",
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=365),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
async def test_vc_jwt_round_trip(
    verifier: CredentialVerifier, clock: FakeClock, key_type: str
) -> None:
    issuer = Signer.for_did_key(KeyPair.generate(key_type))
    token = issue_vc_jwt(member(issuer.did, clock), issuer)
    result = await verifier.verify(token)
    assert result.issuer == issuer.did
    assert result.subject_id == "did:example:company"
    assert result.types == ("VerifiableCredential", "MembershipCredential")
    assert result.claims["memberOf"] == "dataspace"
    assert result.format is CredentialFormat.VC_JWT
    assert result.id == "urn:uuid:0b5d6a2c"
    assert result.kid == issuer.kid
    assert result.raw == token
    assert result.valid_until == datetime.fromtimestamp(clock.now, UTC) + timedelta(days=365)
    # As an EnvelopedVerifiableCredential object it verifies the same way.
    assert (await verifier.verify(envelope_credential(token))).issuer == issuer.did


async def test_did_web_issuer(host: Host, verifier: CredentialVerifier, clock: FakeClock) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key])
    issuer = Signer.for_did(key, did)
    result = await verifier.verify(issue_vc_jwt(member(did, clock), issuer))
    assert result.issuer == did
    assert result.kid == f"{did}#{key.kid}"


async def test_issuer_that_did_not_sign_is_refused(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    attacker = Signer.for_did_key(KeyPair.generate())
    with pytest.raises(VerificationError) as err:
        issue_vc_jwt(member(issuer.did, clock), attacker)  # our own issuer refuses too
    assert err.value.code == "issuer-mismatch"
    forged = attacker.sign_jwt(member(issuer.did, clock), typ="vc+jwt")
    assert await refusal(verifier.verify(forged)) == "issuer-mismatch"
    # Claiming the issuer's kid while signing with another key fails on the signature.
    impostor = encode_jws(member(issuer.did, clock), attacker.key, kid=issuer.kid, typ="vc+jwt")
    assert await refusal(verifier.verify(impostor)) == "jwt-signature-invalid"


async def test_kid_that_is_not_in_the_did_document(
    host: Host, verifier: CredentialVerifier, clock: FakeClock
) -> None:
    published, unpublished = KeyPair.generate(), KeyPair.generate()
    did = host.publish_did([published])
    token = issue_vc_jwt(member(did, clock), Signer.for_did(unpublished, did))
    assert await refusal(verifier.verify(token)) == "key-not-found"


async def test_key_outside_assertion_method(
    host: Host, verifier: CredentialVerifier, clock: FakeClock
) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key], relationships=("authentication", "capabilityInvocation"))
    with pytest.raises(VerificationError) as err:
        await verifier.verify(issue_vc_jwt(member(did, clock), Signer.for_did(key, did)))
    assert err.value.code == "key-not-authorized"


async def test_validity_period(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    token = issue_vc_jwt(member(issuer.did, clock), issuer)
    clock.advance(-3600)
    assert await refusal(verifier.verify(token)) == "credential-not-yet-valid"
    clock.advance(3600 + 366 * 86400)
    assert await refusal(verifier.verify(token)) == "credential-expired"


async def test_jwt_exp_and_nbf_in_a_vc_jwt(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    expired = issue_vc_jwt(dict(member(issuer.did, clock), exp=int(clock.now) - 120), issuer)
    assert await refusal(verifier.verify(expired)) == "jwt-expired"
    early = issue_vc_jwt(dict(member(issuer.did, clock), nbf=int(clock.now) + 120), issuer)
    assert await refusal(verifier.verify(early)) == "jwt-not-yet-valid"


async def test_wrong_typ_and_data_model(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    presentation_typed = issuer.sign_jwt(member(issuer.did, clock), typ="vp+jwt")
    assert await refusal(verifier.verify(presentation_typed)) == "jwt-typ-mismatch"
    v1_in_vc_jwt = dict(
        member(issuer.did, clock), **{"@context": ["https://www.w3.org/2018/credentials/v1"]}
    )
    with pytest.raises(VerificationError) as err:
        await verifier.verify(issuer.sign_jwt(v1_in_vc_jwt, typ="vc+jwt"))
    assert (err.value.code, err.value.extra["pointer"]) == ("context-invalid", "/@context/0")
    assert err.value.status == 401  # a verification failure, as for DCP callers; not a 422
    with pytest.raises(VerificationError) as err:
        await verifier.verify({"type": ["VerifiableCredential"], "issuer": issuer.did})
    assert (err.value.code, err.value.extra["pointer"]) == ("context-invalid", "/@context")


async def test_vc_11_jwt_round_trip_and_claim_mapping(
    verifier: CredentialVerifier, issuer: Signer
) -> None:
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "id": "urn:uuid:1",
        "issuer": issuer.did,
        "issuanceDate": "2025-01-01T00:00:00Z",
        "expirationDate": "2030-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:company"},
    }
    token = issue_jwt_vc_11(credential, issuer)
    claims = (await verifier.verify(token)).credential
    result = await verifier.verify(token)
    assert result.format is CredentialFormat.JWT_VC_11
    assert result.issuer == issuer.did
    assert result.subject_id == "did:example:company"
    assert result.valid_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert result.valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert claims["id"] == "urn:uuid:1"


async def test_vc_11_jwt_expiry_and_issuer(
    verifier: CredentialVerifier, issuer: Signer, clock: FakeClock
) -> None:
    claims = {
        "iss": issuer.did,
        "sub": "did:example:company",
        "exp": int(clock.now) - 61,
        "vc": {"type": ["VerifiableCredential"], "credentialSubject": {}},
    }
    assert await refusal(verifier.verify(issuer.sign_jwt(claims, typ="JWT"))) == "jwt-expired"
    other = Signer.for_did_key(KeyPair.generate())
    claims = dict(claims, exp=int(clock.now) + 600, iss=other.did)
    assert await refusal(verifier.verify(issuer.sign_jwt(claims, typ="JWT"))) == "issuer-mismatch"


async def test_verified_token_cache(
    resolver: DidResolver, issuer: Signer, clock: FakeClock
) -> None:
    cache: TokenCache[VerifiedCredential] = TokenCache(max_entries=2, clock=clock)
    verifier = CredentialVerifier(resolver, clock=clock, cache=cache, max_cache_seconds=600)
    token = issue_vc_jwt(dict(member(issuer.did, clock), exp=int(clock.now) + 300), issuer)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # a look-up, not a second verification
    assert cache.hits == 1
    assert len(cache) == 1
    clock.advance(301)  # past exp (the entry's expiry), still inside max_cache_seconds
    assert cache.get(token) is None
    again = await verifier.verify(token)  # verified afresh (within the 60 s skew) ...
    assert again is not first
    assert len(cache) == 0
    clock.advance(60)
    assert await refusal(verifier.verify(token)) == "jwt-expired"
    # Bounded: a third token pushes the oldest out.
    tokens = [
        issue_vc_jwt(dict(member(issuer.did, clock), id=f"urn:n:{n}"), issuer) for n in range(3)
    ]
    for t in tokens:
        await verifier.verify(t)
    assert len(cache) == 2
    assert cache.get(tokens[0]) is None
    assert cache.get(tokens[2]) is not None


async def test_cache_does_not_keep_failures(
    resolver: DidResolver, issuer: Signer, clock: FakeClock
) -> None:
    cache: TokenCache[VerifiedCredential] = TokenCache(clock=clock)
    verifier = CredentialVerifier(resolver, clock=clock, cache=cache)
    forged = Signer.for_did_key(KeyPair.generate()).sign_jwt(
        member(issuer.did, clock), typ="vc+jwt"
    )
    for _ in range(2):
        with pytest.raises(VerificationError):
            await verifier.verify(forged)
    assert len(cache) == 0
