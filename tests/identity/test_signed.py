"""Verifying DID-signed JWTs that are neither credentials nor protocol tokens."""

from __future__ import annotations

import pytest

from identity.errors import VerificationError
from identity.keys import KeyPair
from identity.resolver import DidResolver
from identity.signed import verify_signed_jwt
from identity.signer import Signer

TYP = "usage-receipt+jwt"


@pytest.fixture
def signer() -> Signer:
    return Signer.for_did_key(KeyPair.generate())


async def test_a_signed_receipt_verifies(signer: Signer) -> None:
    token = signer.sign_jwt({"iss": signer.did, "usage": {"requests": 3}}, typ=TYP)
    async with DidResolver() as resolver:
        claims = await verify_signed_jwt(token, resolver, typ={TYP}, issuer=signer.did)
    assert claims["usage"] == {"requests": 3}


@pytest.mark.parametrize("flaw", ["typ", "issuer", "iss", "tampered", "foreign-key"])
async def test_flaws_are_refused(signer: Signer, flaw: str) -> None:
    other = Signer.for_did_key(KeyPair.generate())
    claims = {"iss": signer.did if flaw != "iss" else other.did, "usage": {"requests": 3}}
    token = signer.sign_jwt(claims, typ="JWT" if flaw == "typ" else TYP)
    if flaw == "tampered":
        header, payload, signature = token.split(".")
        token = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"),
                          signature])
    if flaw == "foreign-key":
        token = Signer(other.key, signer.kid).sign_jwt(claims, typ=TYP)
    expected = {"typ": "jwt-typ-mismatch", "issuer": "issuer-mismatch", "iss": "issuer-mismatch",
                "tampered": "jwt-signature-invalid", "foreign-key": "jwt-signature-invalid"}[flaw]
    async with DidResolver() as resolver:
        with pytest.raises(VerificationError) as caught:
            await verify_signed_jwt(token, resolver, typ={TYP},
                                    issuer=other.did if flaw == "issuer" else signer.did)
    if flaw == "tampered":  # the edited payload may no longer even be JSON
        assert caught.value.code in (expected, "jwt-malformed")
    else:
        assert caught.value.code == expected
