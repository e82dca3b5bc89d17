"""Access tokens of endpoint data references: issued, verified (cached) and refreshed.

An access token is a JWT (``typ`` ``at+jwt``, RFC 9068) signed with the
connector's key: ``iss`` our DID, ``sub`` the consumer's DID, ``aud`` the
data-plane URL, a short ``exp``, and the claims that bind it to one flow:
``transfer_id``, ``agreement_id``, ``dataset_id`` and ``gen`` (the flow's
generation, bumped by suspension and termination, so every token issued
before either stops working at once, even after a restart of the flow).

Verification is the identity JOSE core (allow-listed algorithms, ``typ``,
signature by our own key, time claims, audience) behind an
:class:`identity.cache.TokenCache`: a token seen before costs one dictionary
look-up. Whether the flow is still live is *not* cached here; the flow
registry answers that on every request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from identity.cache import TokenCache
from identity.errors import VerificationError
from identity.jose import check_audience, check_time_claims, decode_jws, verify_jws
from identity.signer import Signer
from servicekit.clock import Clock
from servicekit.errors import InvalidToken

__all__ = ["ACCESS_TOKEN_TYPE", "AccessClaims", "AccessTokens"]

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT type, not a secret
_TYP = frozenset({ACCESS_TOKEN_TYPE})
_SKEW = 5.0  # our own tokens, our own clock: little skew is needed


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    transfer_id: str
    agreement_id: str
    dataset_id: str
    consumer_id: str
    generation: int
    expires_at: float


class AccessTokens:
    """Mints and verifies the data plane's access tokens."""

    def __init__(
        self,
        signer: Signer,
        *,
        audience: str,
        lifetime: float,
        clock: Clock,
        cache_entries: int = 50_000,
    ) -> None:
        self._signer = signer
        self._public = signer.key.public_key
        self.audience = audience
        self.lifetime = lifetime
        self._clock = clock
        self._cache: TokenCache[AccessClaims] = TokenCache(max_entries=cache_entries, clock=clock)

    def issue(
        self,
        *,
        transfer_id: str,
        agreement_id: str,
        dataset_id: str,
        consumer_id: str,
        generation: int,
    ) -> tuple[str, float]:
        """A fresh token for the flow and its expiry (epoch seconds)."""
        now = self._clock()
        expires = float(int(now + self.lifetime))
        token = self._signer.sign_jwt(
            {
                "iss": self._signer.did,
                "sub": consumer_id,
                "aud": self.audience,
                "iat": int(now),
                "exp": int(expires),
                "jti": secrets.token_urlsafe(12),
                "transfer_id": transfer_id,
                "agreement_id": agreement_id,
                "dataset_id": dataset_id,
                "gen": generation,
            },
            typ=ACCESS_TOKEN_TYPE,
        )
        return token, expires

    def verify(self, token: str, *, grace: float = 0.0) -> AccessClaims:
        """The claims of a valid token; ``InvalidToken`` otherwise.

        ``grace`` accepts a token that expired at most that long ago (refresh only;
        such results are not cached).
        """
        if not grace:
            cached = self._cache.get(token)
            if cached is not None:
                return cached
        try:
            jws = decode_jws(token, typ=_TYP)
            if jws.kid != self._signer.kid:
                raise VerificationError("the token was not issued by this connector",
                                        code="token-issuer-unknown")
            verify_jws(jws, self._public)
            claims = jws.claims()
            now = self._clock()
            exp = check_time_claims(claims, now, skew=_SKEW + grace, require=("exp", "sub"))
            check_audience(claims, self.audience)
            result = AccessClaims(
                transfer_id=_text(claims, "transfer_id"),
                agreement_id=_text(claims, "agreement_id"),
                dataset_id=_text(claims, "dataset_id"),
                consumer_id=_text(claims, "sub"),
                generation=_int(claims, "gen"),
                expires_at=float(exp or 0.0),
            )
        except VerificationError as exc:
            raise InvalidToken(exc.detail, code="access-token-invalid",
                               extra={"reason": exc.code}) from None
        if not grace:
            self._cache.put(token, result, result.expires_at + _SKEW)
        return result


def _text(claims: dict[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise VerificationError(f"claim {name} is missing", code="jwt-malformed")
    return value


def _int(claims: dict[str, object], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise VerificationError(f"claim {name} is missing", code="jwt-malformed")
    return value
