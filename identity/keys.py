"""Key pairs as JWK: Ed25519 (OKP, EdDSA) and P-256 (EC, ES256).

A :class:`KeyPair` keeps its private key out of ``repr``/``str``; the only way
to see the private material is :meth:`KeyPair.export_private_jwk`, which the
key store uses to encrypt it. ``kid`` defaults to the RFC 7638 thumbprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from identity.encoding import b64url_decode, b64url_encode
from identity.errors import VerificationError

__all__ = [
    "ALGORITHM_BY_KEY_TYPE",
    "KeyPair",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "algorithm_for_key",
    "jwk_thumbprint",
    "public_jwk_from_key",
    "public_key_from_jwk",
]

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class KeyType(StrEnum):
    """The key types the toolkit signs with."""

    ED25519 = "ed25519"
    P256 = "p256"


ALGORITHM_BY_KEY_TYPE = {KeyType.ED25519: "EdDSA", KeyType.P256: "ES256"}

_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise VerificationError("JWK lacks the members of its key type", code="key-unsupported")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return b64url_encode(hashlib.sha256(canonical).digest())


def _coordinate(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise VerificationError(f"JWK member {name} missing", code="key-unsupported")
    try:
        raw = b64url_decode(value)
    except ValueError as exc:
        raise VerificationError(
            f"JWK member {name} is not base64url", code="key-unsupported"
        ) from exc
    if len(raw) != size:
        raise VerificationError(f"JWK member {name} has the wrong length", code="key-unsupported")
    return raw


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Build a verifying key from a public JWK (OKP/Ed25519 or EC/P-256)."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    try:
        if kty == "OKP" and crv == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(_coordinate(jwk, "x", 32))
        if kty == "EC" and crv == "P-256":
            point = b"\x04" + _coordinate(jwk, "x", 32) + _coordinate(jwk, "y", 32)
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VerificationError("JWK is not a valid public key", code="key-unsupported") from exc
    raise VerificationError(f"unsupported key type {kty}/{crv}", code="key-unsupported")


def public_jwk_from_key(key: PublicKey) -> dict[str, str]:
    """The public JWK of a verifying key (members in RFC 7638 order)."""
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    if isinstance(key.curve, ec.SECP256R1):
        numbers = key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    raise VerificationError("unsupported curve", code="key-unsupported")


def algorithm_for_key(key: PublicKey) -> str:
    """The JWS ``alg`` a key signs with: EdDSA for Ed25519, ES256 for P-256."""
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise VerificationError("unsupported curve", code="key-unsupported")


class KeyPair:
    """A private signing key with its public JWK, ``kid`` and ``alg``.

    The private key never appears in ``repr``/``str``; export it explicitly with
    :meth:`export_private_jwk` (the key store does, to encrypt it).
    """

    __slots__ = ("_private", "alg", "key_type", "kid", "public_jwk", "public_key")

    def __init__(self, private_key: PrivateKey, *, kid: str | None = None) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise VerificationError("only P-256 EC keys are supported", code="key-unsupported")
        self._private = private_key
        self.public_key: PublicKey = private_key.public_key()
        self.key_type = (
            KeyType.ED25519 if isinstance(private_key, Ed25519PrivateKey) else KeyType.P256
        )
        self.alg = ALGORITHM_BY_KEY_TYPE[self.key_type]
        jwk = public_jwk_from_key(self.public_key)
        self.kid = kid or jwk_thumbprint(jwk)
        self.public_jwk: dict[str, str] = {**jwk, "kid": self.kid, "alg": self.alg}

    @classmethod
    def generate(cls, key_type: KeyType | str = KeyType.ED25519) -> KeyPair:
        """A fresh key pair of ``key_type`` (``ed25519`` or ``p256``)."""
        kind = KeyType(key_type)
        if kind is KeyType.ED25519:
            return cls(Ed25519PrivateKey.generate())
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_private_jwk(cls, jwk: Mapping[str, Any]) -> KeyPair:
        """Rebuild a key pair from a private JWK (with ``d``); keeps its ``kid``."""
        public = public_key_from_jwk(jwk)
        secret = _coordinate(jwk, "d", 32)
        private: PrivateKey
        if isinstance(public, Ed25519PublicKey):
            private = Ed25519PrivateKey.from_private_bytes(secret)
        else:
            private = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
        pair = cls(private, kid=jwk.get("kid") if isinstance(jwk.get("kid"), str) else None)
        if public_jwk_from_key(pair.public_key) != public_jwk_from_key(public):
            raise VerificationError(
                "private JWK does not match its public part", code="key-unsupported"
            )
        return pair

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` in JWS form (raw R||S for ES256)."""
        if isinstance(self._private, Ed25519PrivateKey):
            return self._private.sign(data)
        r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def export_private_jwk(self) -> dict[str, str]:
        """The private JWK (with ``d``). Handle with care: never log it."""
        if isinstance(self._private, Ed25519PrivateKey):
            raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        else:
            raw = self._private.private_numbers().private_value.to_bytes(32, "big")
        return {**self.public_jwk, "d": b64url_encode(raw)}

    def __repr__(self) -> str:
        return f"KeyPair(type={self.key_type.value}, kid={self.kid!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would write the private key wherever the pickle goes.
        raise TypeError("KeyPair cannot be pickled; use the key store")
