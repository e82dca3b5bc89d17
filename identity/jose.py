"""The JOSE core every token path uses: compact JWS parse, sign and verify.

RFC 8725 in code: the algorithm allow-list is EdDSA and ES256 only (``none``,
HMAC and RSA are refused before any key is looked at, so an HS256 token
"signed" with a public key never reaches a verifier); ``typ`` is checked per
token kind; a ``crit`` header is refused; a key carried in the header
(``jwk``, ``jku``, ``x5c``, ``x5u``) is never used: keys come from the
signer's DID document only. Time claims are checked with a bounded skew.

The hot path is lean on purpose: one split, one base64url decode and one
``orjson`` parse per part, and a prepared public-key object per key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from identity.encoding import b64url_decode, b64url_encode
from identity.errors import VerificationError
from identity.keys import KeyPair, PublicKey

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_SKEW",
    "MAX_TOKEN_LENGTH",
    "Jws",
    "check_audience",
    "check_time_claims",
    "decode_jws",
    "encode_jws",
    "typ_matches",
    "verify_jws",
]

ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256"})
DEFAULT_SKEW = 60.0
MAX_TOKEN_LENGTH = 256 * 1024
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class Jws:
    """A parsed compact JWS whose signature is not yet verified."""

    __slots__ = ("header", "payload", "signature", "signing_input", "token")

    def __init__(
        self,
        token: str,
        header: dict[str, Any],
        payload: bytes,
        signing_input: bytes,
        signature: bytes,
    ) -> None:
        self.token = token
        self.header = header
        self.payload = payload
        self.signing_input = signing_input
        self.signature = signature

    @property
    def alg(self) -> str:
        """The header ``alg`` (already checked against the allow-list)."""
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        """The header ``kid``, if it is a string."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    def claims(self) -> dict[str, Any]:
        """The payload parsed as a JSON object (unverified until :func:`verify_jws`)."""
        try:
            claims = orjson.loads(self.payload)
        except orjson.JSONDecodeError as exc:
            raise VerificationError("JWS payload is not JSON", code="jwt-malformed") from exc
        if not isinstance(claims, dict):
            raise VerificationError("JWS payload is not a JSON object", code="jwt-malformed")
        return claims

    def __repr__(self) -> str:
        return f"Jws(alg={self.header.get('alg')!r}, kid={self.header.get('kid')!r})"


def typ_matches(typ: object, expected: Collection[str | None]) -> bool:
    """True when header ``typ`` is one of ``expected`` (``None`` allows absence).

    Media types compare case-insensitively and with or without the
    ``application/`` prefix (RFC 7515 section 4.1.9).
    """
    if typ is None:
        return None in expected
    if not isinstance(typ, str):
        return False
    value = typ.lower()
    if value.startswith("application/"):
        value = value[12:]
    return any(e is not None and e.lower() == value for e in expected)


def decode_jws(token: str, *, typ: Collection[str | None] | None = None) -> Jws:
    """Parse a compact JWS and check its header; the signature is not checked yet.

    ``typ`` lists the accepted header ``typ`` values (``None`` in it allows a
    missing ``typ``); ``typ=None`` skips the check (only for callers that
    dispatch on ``typ`` themselves).
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise VerificationError("token is not a string of acceptable size", code="jwt-malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise VerificationError("not a compact JWS", code="jwt-malformed")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = orjson.loads(b64url_decode(header_b64))
        payload = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise VerificationError("JWS parts are not base64url JSON", code="jwt-malformed") from exc
    if not isinstance(header, dict):
        raise VerificationError("JWS header is not a JSON object", code="jwt-malformed")
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise VerificationError(
            f"algorithm {alg!r} is not allowed", code="jwt-algorithm-not-allowed"
        )
    if "crit" in header:
        raise VerificationError(
            "critical header parameters are not supported", code="jwt-header-unsupported"
        )
    if typ is not None and not typ_matches(header.get("typ"), typ):
        raise VerificationError(
            f"header typ {header.get('typ')!r} is not acceptable here", code="jwt-typ-mismatch"
        )
    signing_input = token[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
    return Jws(token, header, payload, signing_input, signature)


def verify_jws(jws: Jws, key: PublicKey, *, key_alg: str | None = None) -> None:
    """Verify ``jws`` with ``key``; raise ``jwt-signature-invalid`` if it does not verify.

    The header ``alg`` must fit the key (EdDSA for Ed25519, ES256 for P-256)
    and the key's declared ``alg``, if any.
    """
    alg = jws.header["alg"]
    if key_alg is not None and key_alg != alg:
        raise VerificationError("alg differs from the key's alg", code="jwt-algorithm-not-allowed")
    signature = jws.signature
    try:
        if alg == "EdDSA":
            if not isinstance(key, Ed25519PublicKey):
                raise VerificationError(
                    "EdDSA needs an Ed25519 key", code="jwt-algorithm-not-allowed"
                )
            if len(signature) != 64:
                raise InvalidSignature
            key.verify(signature, jws.signing_input)
        elif alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
                key.curve, ec.SECP256R1
            ):
                raise VerificationError("ES256 needs a P-256 key", code="jwt-algorithm-not-allowed")
            if len(signature) != 64:
                raise InvalidSignature
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, jws.signing_input, _ECDSA_SHA256)
        else:  # decode_jws already refused it; keep the allow-list closed here too
            raise VerificationError(
                f"algorithm {alg!r} is not allowed", code="jwt-algorithm-not-allowed"
            )
    except InvalidSignature as exc:
        raise VerificationError("signature does not verify", code="jwt-signature-invalid") from exc


def encode_jws(
    payload: Mapping[str, Any] | bytes,
    key: KeyPair,
    *,
    kid: str | None,
    typ: str | None,
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` (a JSON object or raw bytes) as a compact JWS."""
    header: dict[str, Any] = {"alg": key.alg}
    if typ is not None:
        header["typ"] = typ
    if kid is not None:
        header["kid"] = kid
    if extra_header:
        header.update(extra_header)
    body = payload if isinstance(payload, bytes) else plain_base64_json(payload)
    signing_input = b64url_encode(orjson.dumps(header)) + "." + b64url_encode(body)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode("ascii")))


# Bytes that make base64url differ from plain base64: in ASCII JSON only ``>``, ``?``, ``~``
# and DEL (at the third byte of a group) give the sextets 62 and 63, spelled ``-`` and ``_``.
_NOT_PLAIN_BASE64 = re.compile("[>?~\x7f-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def plain_base64_json(payload: Mapping[str, Any]) -> bytes:
    """``payload`` as JSON whose base64url form is also valid plain base64.

    Tools that read a JWT with a plain base64 decoder (JavaScript's ``atob``, as
    the W3C VC 2.0 test suite does) fail on ``-`` and ``_``. In ASCII JSON only
    ``>``, ``?``, ``~`` and DEL produce those sextets, and non-ASCII bytes may;
    orjson writes them only inside strings, where JSON may escape any character,
    so they are written as ``\\uXXXX``: the same JSON value, readable by both.
    The usual payload has none of them and keeps orjson's output as it is.
    """
    body = orjson.dumps(payload)
    text = body.decode("utf-8")
    if not _NOT_PLAIN_BASE64.search(text):
        return body
    return _NOT_PLAIN_BASE64.sub(_escape, text).encode("ascii")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VerificationError(f"claim {name} is not a number", code="jwt-malformed")
    return float(value)


def check_time_claims(
    claims: Mapping[str, Any],
    now: float,
    *,
    skew: float = DEFAULT_SKEW,
    require: Collection[str] = (),
    max_lifetime: float | None = None,
) -> float | None:
    """Check ``exp``, ``nbf`` and ``iat`` against ``now`` with ``skew``; return ``exp``.

    ``require`` names claims that must be present; ``max_lifetime`` caps
    ``exp - iat`` (or ``exp - now`` without ``iat``).
    """
    for name in require:
        if name not in claims:
            raise VerificationError(f"claim {name} is required", code="jwt-malformed")
    exp = _number(claims, "exp")
    nbf = _number(claims, "nbf")
    iat = _number(claims, "iat")
    if exp is not None and now - skew >= exp:
        raise VerificationError("token has expired", code="jwt-expired")
    if nbf is not None and now + skew < nbf:
        raise VerificationError("token is not valid yet", code="jwt-not-yet-valid")
    if iat is not None and now + skew < iat:
        raise VerificationError("token was issued in the future", code="jwt-not-yet-valid")
    if max_lifetime is not None and exp is not None:
        start = iat if iat is not None else now
        if exp - start > max_lifetime:
            raise VerificationError("token lives longer than allowed", code="jwt-lifetime-too-long")
    return exp


def check_audience(claims: Mapping[str, Any], audience: str) -> None:
    """``aud`` (a string or a list) must name ``audience``."""
    aud = claims.get("aud")
    if aud == audience or (isinstance(aud, list) and audience in aud):
        return
    raise VerificationError("token is not addressed to this verifier", code="jwt-audience-mismatch")
