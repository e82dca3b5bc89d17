"""Issuing verifiable presentations: ``vp+jwt``, Data Integrity and VC 1.1 JWT VPs.

The holder's side of :mod:`identity.vp`, which verifies what these functions make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from identity.clock import Clock, now
from identity.data_integrity import add_proof
from identity.signer import Signer
from identity.vc import VC_V2_CONTEXT, envelope_credential

__all__ = [
    "VC_V1_CONTEXT",
    "envelope_presentation",
    "issue_jwt_vp_11",
    "issue_vp_data_integrity",
    "issue_vp_jwt",
]

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"


def envelope_presentation(token: str) -> dict[str, Any]:
    """An ``EnvelopedVerifiablePresentation`` holding a ``vp+jwt``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": "data:application/vp+jwt," + token,
        "type": "EnvelopedVerifiablePresentation",
    }


def _presentation(
    signer: Signer, credentials: Sequence[str | Mapping[str, Any]], id: str | None
) -> dict[str, Any]:
    """A VC 2.0 presentation by ``signer``; a string credential (a ``vc+jwt``) is enveloped."""
    presentation: dict[str, Any] = {"@context": [VC_V2_CONTEXT],
                                    "type": ["VerifiablePresentation"]}
    if id is not None:
        presentation["id"] = id
    presentation["holder"] = signer.did
    presentation["verifiableCredential"] = [
        envelope_credential(c) if isinstance(c, str) else dict(c) for c in credentials
    ]
    return presentation


def _timing(clock: Clock, lifetime: float) -> dict[str, int]:
    issued = int(now(clock))
    return {"iat": issued, "nbf": issued, "exp": issued + int(lifetime)}


def issue_vp_jwt(
    signer: Signer,
    credentials: Sequence[str | Mapping[str, Any]],
    *,
    audience: str | None,
    nonce: str | None,
    clock: Clock,
    lifetime: float = 300.0,
    id: str | None = None,
) -> str:
    """A ``vp+jwt`` by ``signer`` (the holder) presenting ``credentials``.

    A string credential (a ``vc+jwt``) is enveloped; an object is included as is.
    """
    payload = _presentation(signer, credentials, id)
    if audience is not None:
        payload["aud"] = audience
    if nonce is not None:
        payload["nonce"] = nonce
    payload.update(_timing(clock, lifetime))
    return signer.sign_jwt(payload, typ="vp+jwt")


def issue_vp_data_integrity(
    signer: Signer,
    credentials: Sequence[str | Mapping[str, Any]],
    *,
    domain: str | None,
    challenge: str | None,
    id: str | None = None,
) -> dict[str, Any]:
    """A VC 2.0 presentation by ``signer`` (the holder) with an ``eddsa-rdfc-2022`` proof.

    The proof's purpose is ``authentication``; ``domain`` names the verifier
    and ``challenge`` carries its nonce. A string credential (a ``vc+jwt``)
    is enveloped; an object is included as is.
    """
    return add_proof(_presentation(signer, credentials, id), signer.key,
                     verification_method=signer.kid, proof_purpose="authentication",
                     domain=domain, challenge=challenge)


def issue_jwt_vp_11(
    signer: Signer,
    credentials: Sequence[str | Mapping[str, Any]],
    *,
    audience: str | None,
    nonce: str | None,
    clock: Clock,
    lifetime: float = 300.0,
    jti: str | None = None,
) -> str:
    """A VC 1.1 JWT VP (``vp`` claim, ``iss`` = holder), as DCP 1.0 peers exchange."""
    claims: dict[str, Any] = {"iss": signer.did, "sub": signer.did}
    if audience is not None:
        claims["aud"] = audience
    if nonce is not None:
        claims["nonce"] = nonce
    if jti is not None:
        claims["jti"] = jti
    claims.update(_timing(clock, lifetime))
    claims["vp"] = {
        "@context": [VC_V1_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": signer.did,
        "verifiableCredential": list(credentials),
    }
    return signer.sign_jwt(claims, typ="JWT")
