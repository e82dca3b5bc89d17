"""The JOSE core: RFC 8037 vectors, and the attacks RFC 8725 names, each with its code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from identity import (
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    VerificationError,
    build_credential,
    decode_jws,
    encode_jws,
    issue_vc_jwt,
    verify_jws,
)
from identity.encoding import b64url_encode
from identity.keys import jwk_thumbprint
from tests.fakes import FakeClock

RFC8037_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    signing_input = b64url_encode(orjson.dumps(header)) + "." + b64url_encode(orjson.dumps(payload))
    return signing_input + "." + b64url_encode(signature)


def test_rfc8037_thumbprint_and_signature() -> None:
    key = KeyPair.from_private_jwk(RFC8037_PRIVATE)
    assert jwk_thumbprint(RFC8037_PRIVATE) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert encode_jws(b"Example of Ed25519 signing", key, kid=None, typ=None) == RFC8037_JWS
    jws = decode_jws(RFC8037_JWS)
    verify_jws(jws, key.public_key)
    assert jws.payload == b"Example of Ed25519 signing"


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
def test_sign_and_verify_both_algorithms(key_type: str) -> None:
    key = KeyPair.generate(key_type)
    token = encode_jws({"a": 1}, key, kid="did:example:1#k", typ="JWT")
    jws = decode_jws(token, typ=("JWT",))
    assert jws.alg == key.alg
    assert jws.kid == "did:example:1#k"
    verify_jws(jws, key.public_key)
    assert jws.claims() == {"a": 1}


def test_a_key_of_the_other_type_does_not_verify() -> None:
    token = encode_jws({"a": 1}, KeyPair.generate("ed25519"), kid=None, typ=None)
    with pytest.raises(VerificationError) as err:
        verify_jws(decode_jws(token), KeyPair.generate("p256").public_key)
    assert err.value.code == "jwt-algorithm-not-allowed"


def test_typ_compares_media_types_loosely() -> None:
    token = encode_jws({"a": 1}, KeyPair.generate(), kid=None, typ="application/VC+JWT")
    assert decode_jws(token, typ=("vc+jwt",)).header["typ"] == "application/VC+JWT"
    with pytest.raises(VerificationError) as err:
        decode_jws(token, typ=("vp+jwt",))
    assert err.value.code == "jwt-typ-mismatch"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!.e30.AA",
        "e30.e30.AA",
        "WyJhIl0.e30.AA",
        "eyJhbGciOiJFZERTQSJ9=.e30.AA",
    ],
)
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(VerificationError) as err:
        decode_jws(token)
    assert err.value.code in {"jwt-malformed", "jwt-algorithm-not-allowed"}
    if token in ("", "a.b", "a.b.c.d", "WyJhIl0.e30.AA"):
        assert err.value.code == "jwt-malformed"


class RecordingResolver(DidResolver):
    """A resolver that notes every key look-up (and then answers as usual)."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str | None] = []

    async def resolve(self, did: str) -> Any:
        self.looked_up.append(did)
        return await super().resolve(did)

    async def verification_method(self, kid: str | None, relationships: Any, *,
                                  did: str | None = None) -> Any:
        self.looked_up.append(kid)
        return await super().verification_method(kid, relationships, did=did)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused_when_the_token_is_parsed(alg: str, issuer: Signer) -> None:
    credential = build_credential(issuer=issuer.did, subject={"id": "did:example:bob"})
    with pytest.raises(VerificationError) as err:
        decode_jws(forge({"alg": alg, "typ": "vc+jwt", "kid": issuer.kid}, credential))
    assert err.value.code == "jwt-algorithm-not-allowed"
    assert str(err.value) == f"algorithm {alg!r} is not allowed"


async def test_alg_none_is_refused_before_any_key_is_looked_at(
    issuer: Signer, clock: FakeClock
) -> None:
    resolver = RecordingResolver()
    verifier = CredentialVerifier(resolver, clock=clock)
    credential = build_credential(issuer=issuer.did, subject={"id": "did:example:bob"})
    # The same credential, properly signed, does make the verifier look the key up.
    await verifier.verify(issue_vc_jwt(credential, issuer))
    assert resolver.looked_up
    resolver.looked_up.clear()
    for token in (
        forge({"alg": "none", "typ": "vc+jwt", "kid": issuer.kid}, credential),
        forge({"alg": "none", "typ": "vc+jwt", "kid": issuer.kid}, credential, b"x" * 64),
    ):
        with pytest.raises(VerificationError) as err:
            await verifier.verify(token)
        assert err.value.code == "jwt-algorithm-not-allowed"
    assert resolver.looked_up == []


@pytest.mark.parametrize("secret_form", ["raw", "pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(
    verifier: CredentialVerifier, issuer: Signer, secret_form: str
) -> None:
    public = issuer.key.public_key
    secrets = {
        "raw": public.public_bytes(Encoding.Raw, PublicFormat.Raw),
        "pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "jwk": orjson.dumps(issuer.key.public_jwk),
    }
    credential = build_credential(issuer=issuer.did, subject={"id": "did:example:bob"})
    header = {"alg": "HS256", "typ": "vc+jwt", "kid": issuer.kid}
    unsigned = forge(header, credential).rsplit(".", 1)[0]
    mac = hmac.new(secrets[secret_form], unsigned.encode(), hashlib.sha256).digest()
    with pytest.raises(VerificationError) as err:
        await verifier.verify(unsigned + "." + b64url_encode(mac))
    assert err.value.code == "jwt-algorithm-not-allowed"


async def test_rs256_and_unknown_algorithms_are_refused(
    verifier: CredentialVerifier, issuer: Signer
) -> None:
    for alg in ("RS256", "ES384", "EdDSA "):
        token = forge({"alg": alg, "typ": "vc+jwt", "kid": issuer.kid}, {}, b"x" * 64)
        with pytest.raises(VerificationError) as err:
            await verifier.verify(token)
        assert err.value.code == "jwt-algorithm-not-allowed"


async def test_tampered_payload_is_refused(verifier: CredentialVerifier, issuer: Signer) -> None:
    credential = build_credential(
        issuer=issuer.did, subject={"id": "did:example:bob", "role": "member"}
    )
    header, _, signature = issue_vc_jwt(credential, issuer).split(".")
    tampered = dict(credential, credentialSubject={"id": "did:example:bob", "role": "admin"})
    token = f"{header}.{b64url_encode(orjson.dumps(tampered))}.{signature}"
    with pytest.raises(VerificationError) as err:
        await verifier.verify(token)
    assert err.value.code == "jwt-signature-invalid"


async def test_truncated_signature_is_refused(verifier: CredentialVerifier, issuer: Signer) -> None:
    token = issue_vc_jwt(build_credential(issuer=issuer.did, subject={"id": "x:y"}), issuer)
    with pytest.raises(VerificationError) as err:
        await verifier.verify(token[:-4])
    assert err.value.code in {"jwt-signature-invalid", "jwt-malformed"}


def test_crit_header_is_refused() -> None:
    token = encode_jws(
        {}, KeyPair.generate(), kid=None, typ=None, extra_header={"crit": ["b64"], "b64": False}
    )
    with pytest.raises(VerificationError) as err:
        decode_jws(token)
    assert err.value.code == "jwt-header-unsupported"


def test_a_jwk_in_the_header_is_never_used(issuer: Signer) -> None:
    attacker = KeyPair.generate()
    token = encode_jws(
        {"a": 1}, attacker, kid=issuer.kid, typ=None, extra_header={"jwk": attacker.public_jwk}
    )
    with pytest.raises(VerificationError) as err:
        verify_jws(decode_jws(token), issuer.key.public_key)
    assert err.value.code == "jwt-signature-invalid"


# -- payloads a plain base64 decoder reads -----------------------------------------------


def _plain_base64_claims(token: str) -> Any:
    """Read a JWS payload as JavaScript's ``atob`` would: the plain alphabet only."""
    part = token.split(".")[1]
    raw = base64.b64decode(part + "=" * (-len(part) % 4), validate=True)
    return json.loads(raw)


def test_a_payload_that_would_need_base64url_is_escaped_not_changed() -> None:
    # ">" "?" "~" at the third byte of a group and non-ASCII text give "-" or "_"
    claims = {"a": "?>~??>>~~", "name": "Bodø kommune", "emoji": "\U0001f600", "url": "https://x/?q=1"}
    for shift in range(3):  # every alignment of the awkward characters
        payload = {"pad": "x" * shift, **claims}
        token = encode_jws(payload, KeyPair.generate("ed25519"), kid=None, typ="vc+jwt")
        body = token.split(".")[1]
        assert "-" not in body
        assert "_" not in body
        assert _plain_base64_claims(token) == payload
        assert decode_jws(token).claims() == payload


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=40), max_size=6))
def test_every_payload_reads_with_a_plain_base64_decoder(payload: dict[str, str]) -> None:
    key = KeyPair.from_private_jwk(RFC8037_PRIVATE)
    token = encode_jws(payload, key, kid=None, typ=None)
    assert _plain_base64_claims(token) == payload
    jws = decode_jws(token)
    verify_jws(jws, key.public_key)
    assert jws.claims() == payload
