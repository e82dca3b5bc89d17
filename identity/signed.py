"""Verifying a JWT a DID signed (receipts, usage reports, statements).

For documents that are not credentials or protocol tokens but still must be
checked against their signer's DID document: a usage receipt from a
provider's connector, a signed usage report. The signer's key is named by
the header ``kid`` (a DID URL) and must be listed under ``relationships`` of
its DID; ``iss``, when present, must be that DID.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from identity.errors import VerificationError
from identity.jose import decode_jws, verify_jws
from identity.resolver import DidResolver

__all__ = ["verify_signed_jwt"]


async def verify_signed_jwt(
    token: str,
    resolver: DidResolver,
    *,
    typ: Collection[str | None],
    issuer: str | None = None,
    relationships: Sequence[str] = ("assertionMethod",),
) -> dict[str, Any]:
    """Verify ``token`` (header ``typ``, signature by a key of its DID); return the claims.

    ``issuer`` pins the DID that must have signed.
    """
    jws = decode_jws(token, typ=typ)
    kid = jws.kid
    if kid is None or not kid.startswith("did:") or "#" not in kid:
        raise VerificationError("the kid must be a DID URL", code="key-not-authorized")
    signer = kid.split("#", 1)[0]
    if issuer is not None and signer != issuer:
        raise VerificationError(f"signed by {signer}, not {issuer}", code="issuer-mismatch")
    claims = jws.claims()
    if "iss" in claims and claims["iss"] != signer:
        raise VerificationError("iss is not the signing DID", code="issuer-mismatch")
    method = await resolver.verification_method(kid, relationships)
    verify_jws(jws, method.public_key, key_alg=method.declared_alg)
    return claims
