"""OpenID for VC Issuance 1.0 key proofs (``openid4vci-proof+jwt``).

A wallet proves it holds the key its credential will be bound to by signing
``{aud: <credential issuer>, iat, nonce: <c_nonce>}`` with that key, naming
it in the header ``kid`` as a DID URL. The issuer checks the algorithm, the
``typ``, the signature with the key the holder's DID document lists (under
``authentication`` or ``assertionMethod``), the audience, the freshness of
``iat`` and the nonce (which the issuer then spends).

Error codes: ``jwt-*`` from :mod:`identity.jose`, ``key-proof-invalid`` for a
proof that is not bound to a DID key, ``nonce-mismatch`` for a missing nonce.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW, check_audience, check_time_claims, decode_jws, verify_jws
from identity.resolver import DidResolver
from identity.signer import Signer
from servicekit.clock import Clock, system_clock

__all__ = ["KEY_PROOF_TYP", "KeyProof", "create_key_proof", "verify_key_proof"]

KEY_PROOF_TYP = "openid4vci-proof+jwt"
_RELATIONSHIPS = ("authentication", "assertionMethod")


@dataclass(frozen=True, slots=True)
class KeyProof:
    """A verified key proof: the holder DID, its key id and the nonce it answered."""

    holder: str
    kid: str
    nonce: str | None
    issued_at: float


def create_key_proof(
    signer: Signer, audience: str, nonce: str | None, *, clock: Clock = system_clock
) -> str:
    """A key proof for ``audience`` (the credential issuer URL) and ``nonce``."""
    claims: dict[str, object] = {"aud": audience, "iat": int(clock())}
    if nonce is not None:
        claims["nonce"] = nonce
    return signer.sign_jwt(claims, typ=KEY_PROOF_TYP)


async def verify_key_proof(
    token: str,
    resolver: DidResolver,
    *,
    audience: str,
    clock: Clock = system_clock,
    max_age: float = 300.0,
    skew: float = DEFAULT_SKEW,
    require_nonce: bool = True,
) -> KeyProof:
    """Verify a key proof; the caller must still spend ``KeyProof.nonce``."""
    jws = decode_jws(token, typ={KEY_PROOF_TYP})
    kid = jws.kid
    if kid is None or not kid.startswith("did:") or "#" not in kid:
        raise VerificationError(
            "the proof's kid must be a DID URL naming the holder key", code="key-proof-invalid"
        )
    if "jwk" in jws.header or "x5c" in jws.header:
        raise VerificationError(
            "the proof names its key twice (kid and jwk/x5c)", code="key-proof-invalid"
        )
    claims = jws.claims()
    check_audience(claims, audience)
    current = clock()
    check_time_claims(claims, current, skew=skew, require=("iat",))
    if current - float(claims["iat"]) > max_age + skew:
        raise VerificationError("the proof is too old", code="jwt-expired")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise VerificationError("nonce is not a string", code="jwt-malformed")
    if require_nonce and not nonce:
        raise VerificationError("the proof carries no nonce", code="nonce-mismatch")
    method = await resolver.verification_method(kid, _RELATIONSHIPS)
    verify_jws(jws, method.public_key, key_alg=method.declared_alg)
    return KeyProof(
        holder=kid.split("#", 1)[0], kid=kid, nonce=nonce, issued_at=float(claims["iat"])
    )
