"""DCP 1.0 self-issued ID tokens: create and verify.

A participant proves who is calling with a JWT it signs itself: ``iss`` and
``sub`` are its DID, ``aud`` the DID of the party called, ``jti`` unique,
``iat``/``exp`` short-lived, and optionally ``token``, an access token the
callee presents to the caller's Credential Service.

Verification follows DCP and the interop notes: ``iss == sub``; ``aud``,
``exp``/``iat``/``nbf`` (bounded skew, capped lifetime) are checked before
anyone is called; the key comes from the DID document (never from a ``jwk``
in the header) and must be in ``capabilityInvocation`` (or
``authentication``, if the verifier allows it); without ``kid`` a document
with more than one key is refused; ``jti`` is recorded in the replay store
once the signature verifies. A verified-token cache spares the signature
check of a token seen before, but never the replay check, so a cached token
presented again is still ``jwt-replayed``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from identity.cache import TokenCache
from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW, check_audience, check_time_claims, decode_jws, verify_jws
from identity.replay import ReplayStore
from identity.resolver import DidResolver
from identity.signer import Signer
from servicekit.clock import Clock, system_clock

__all__ = [
    "SELF_ISSUED_RELATIONSHIPS",
    "SelfIssuedToken",
    "SelfIssuedTokenVerifier",
    "create_self_issued_token",
]

SELF_ISSUED_RELATIONSHIPS = ("capabilityInvocation", "authentication")
_TYPES = (None, "JWT")


@dataclass(frozen=True, slots=True)
class SelfIssuedToken:
    """A verified self-issued ID token."""

    issuer: str
    audience: str
    jti: str
    issued_at: float
    expires_at: float
    access_token: str | None
    kid: str
    claims: Mapping[str, Any]
    raw: str

    def __repr__(self) -> str:
        return f"SelfIssuedToken(issuer={self.issuer!r}, audience={self.audience!r})"


def create_self_issued_token(
    signer: Signer,
    audience: str,
    *,
    clock: Clock = system_clock,
    token: str | None = None,
    lifetime: float = 300.0,
    jti: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A self-issued ID token from ``signer`` to ``audience`` (a DID).

    ``token`` is the access token for the caller's Credential Service.
    """
    issued = int(clock())
    claims: dict[str, Any] = {
        "iss": signer.did,
        "sub": signer.did,
        "aud": audience,
        "jti": jti or secrets.token_urlsafe(18),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
    }
    if token is not None:
        claims["token"] = token
    if extra_claims:
        claims.update({k: v for k, v in extra_claims.items() if k not in claims})
    return signer.sign_jwt(claims, typ="JWT")


class SelfIssuedTokenVerifier:
    """Verify self-issued ID tokens addressed to ``audience`` (our own DID)."""

    def __init__(
        self,
        resolver: DidResolver,
        replay_store: ReplayStore,
        *,
        audience: str,
        clock: Clock = system_clock,
        skew: float = DEFAULT_SKEW,
        max_lifetime: float = 600.0,
        relationships: Sequence[str] = SELF_ISSUED_RELATIONSHIPS,
        cache: TokenCache[SelfIssuedToken] | None = None,
    ) -> None:
        self.resolver = resolver
        self.replay_store = replay_store
        self.audience = audience
        self.clock = clock
        self.skew = skew
        self.max_lifetime = max_lifetime
        self.relationships = tuple(relationships)
        self.cache = cache

    async def verify(self, token: str, *, require_token: bool = False) -> SelfIssuedToken:
        """Verify ``token``; ``require_token`` refuses one without a ``token`` claim."""
        cache = self.cache
        result = cache.get(token) if cache is not None else None
        if result is None:
            result = await self._verify(token)
        if require_token and result.access_token is None:
            raise VerificationError("token claim is required", code="token-missing")
        fresh = await self.replay_store.check_and_record(
            result.issuer + "\n" + result.jti, result.expires_at + self.skew
        )
        if not fresh:
            raise VerificationError("token was used before", code="jwt-replayed")
        if cache is not None:
            cache.put(token, result, result.expires_at)
        return result

    async def _verify(self, token: str) -> SelfIssuedToken:
        jws = decode_jws(token, typ=_TYPES)
        claims = jws.claims()
        iss, sub, jti = claims.get("iss"), claims.get("sub"), claims.get("jti")
        if not isinstance(iss, str) or not isinstance(jti, str) or not jti:
            raise VerificationError("iss and jti are required", code="jwt-malformed")
        if sub != iss:
            raise VerificationError("a self-issued token has iss == sub", code="issuer-mismatch")
        check_audience(claims, self.audience)
        exp = check_time_claims(
            claims,
            self.clock(),
            skew=self.skew,
            require=("exp", "iat"),
            max_lifetime=self.max_lifetime,
        )
        access = claims.get("token")
        if access is not None and not isinstance(access, str):
            raise VerificationError("token claim is not a string", code="jwt-malformed")
        kid = jws.kid
        relative = kid is None or kid.startswith("#")
        if not relative and kid is not None and kid.split("#", 1)[0] != iss:
            raise VerificationError("the token was signed by another DID", code="issuer-mismatch")
        method = await self.resolver.verification_method(
            kid, self.relationships, did=iss if relative else None
        )
        verify_jws(jws, method.public_key, key_alg=method.declared_alg)
        if exp is None:  # unreachable: check_time_claims required it
            raise VerificationError("exp is required", code="jwt-malformed")
        return SelfIssuedToken(
            issuer=iss,
            audience=self.audience,
            jti=jti,
            issued_at=float(claims["iat"]),
            expires_at=exp,
            access_token=access,
            kid=method.id,
            claims=claims,
            raw=token,
        )
