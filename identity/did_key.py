"""did:key: a DID that is its own public key, resolved locally.

Ed25519 keys use multicodec 0xed (``z6Mk...``), P-256 keys 0x1200 with the
compressed point (``zDn...``). The method's fragment repeats the key
(``did:key:z6Mk...#z6Mk...``), as did:key and didkit do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from identity.did_document import (
    DID_CONTEXT,
    JWS_2020_CONTEXT,
    MULTICODEC_ED25519_PUB,
    MULTICODEC_P256_PUB,
    DidDocument,
    parse_did_document,
    public_key_from_multicodec,
)
from identity.encoding import b58decode, b58encode, varint_encode
from identity.errors import DidResolutionError, VerificationError
from identity.keys import PublicKey, public_jwk_from_key, public_key_from_jwk

__all__ = [
    "did_key_document",
    "did_key_from_jwk",
    "did_key_from_public_key",
    "did_key_verification_method",
    "public_key_from_did_key",
    "resolve_did_key",
]

_PREFIX = "did:key:"


def did_key_from_public_key(key: PublicKey) -> str:
    """The did:key of ``key`` (Ed25519 or P-256)."""
    if isinstance(key, Ed25519PublicKey):
        body = varint_encode(MULTICODEC_ED25519_PUB) + key.public_bytes(
            Encoding.Raw, PublicFormat.Raw
        )
    else:
        public_jwk_from_key(key)  # refuses curves other than P-256
        body = varint_encode(MULTICODEC_P256_PUB) + key.public_bytes(
            Encoding.X962, PublicFormat.CompressedPoint
        )
    return _PREFIX + "z" + b58encode(body)


def did_key_from_jwk(jwk: Mapping[str, Any]) -> str:
    """The did:key of a public JWK."""
    return did_key_from_public_key(public_key_from_jwk(jwk))


def did_key_verification_method(did: str) -> str:
    """The verification method id (DID URL) of a did:key: ``did#<multibase key>``."""
    return f"{did}#{did[len(_PREFIX) :]}"


def public_key_from_did_key(did: str) -> PublicKey:
    """Decode the public key a did:key carries."""
    if not did.startswith(_PREFIX + "z") or "#" in did or "/" in did or "?" in did:
        raise DidResolutionError(f"not a did:key: {did[:80]}", code="did-malformed")
    try:
        return public_key_from_multicodec(b58decode(did[len(_PREFIX) + 1 :]))
    except (ValueError, VerificationError) as exc:
        raise DidResolutionError(
            "did:key does not hold a supported key", code="did-malformed"
        ) from exc


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of a did:key, with one JsonWebKey2020 method."""
    key = public_key_from_did_key(did)
    method_id = did_key_verification_method(did)
    return {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": public_jwk_from_key(key),
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }


def resolve_did_key(did: str) -> DidDocument:
    """Resolve a did:key locally (no I/O) to a parsed document."""
    return parse_did_document(did_key_document(did), expected_id=did)
