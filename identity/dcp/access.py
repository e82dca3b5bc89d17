"""Access tokens for a holder's Credential Service, and the caller's DSP token.

A holder lets a verifier read its credentials by giving it an access token,
carried in the ``token`` claim of the holder's self-issued ID token (DCP
calls its format implementation-specific; the verifier treats it as opaque).
Ours is a JWT signed by the holder's own key:

* header ``typ: at+jwt``, ``kid`` the holder's DID URL;
* ``iss`` the holder DID, ``sub`` and ``aud`` the verifier DID it is meant for
  (``iss != sub``, so it can never pass as a self-issued ID token);
* ``scope`` space-separated DCP scopes (``org.eclipse.dspace.dcp.vc.type:T:read``);
* ``jti``, ``iat``, ``nbf`` and a short ``exp``.

Only the holder that issued it verifies it (:func:`verify_access_token`,
with its own key, no DID resolution), and only for the verifier it names:
a token stolen by another party is useless, because that party's own
self-issued token would name a different ``iss``.

:func:`make_dsp_token` is what a connector sends with an outgoing DSP
request; :class:`DcpTokenProvider` wraps it for the connector's seam.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from identity.dcp.scopes import Scope, scopes_for
from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW, check_time_claims, decode_jws, verify_jws
from identity.replay import ReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedTokenVerifier, create_self_issued_token
from identity.signer import Signer
from servicekit.clock import Clock, system_clock
from servicekit.errors import InvalidRequest

__all__ = [
    "ACCESS_TOKEN_TYP",
    "AccessGrant",
    "DcpTokenProvider",
    "dcp_token_verifier",
    "issue_access_token",
    "make_dsp_token",
    "parse_bearer",
    "verify_access_token",
]

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret
_MAX_SCOPES = 64


def dcp_token_verifier(
    resolver: DidResolver,
    replay_store: ReplayStore,
    *,
    audience: str,
    clock: Clock,
    skew: float = DEFAULT_SKEW,
    max_lifetime: float = 600.0,
) -> SelfIssuedTokenVerifier:
    """The verifier of DCP self-issued tokens addressed to ``audience``.

    DCP callers sign with a key of their DID document's
    ``capabilityInvocation`` relationship (a holder and a verifier both check
    that, with replay protection).
    """
    return SelfIssuedTokenVerifier(
        resolver, replay_store, audience=audience, clock=clock, skew=skew,
        max_lifetime=max_lifetime, relationships=("capabilityInvocation",))


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """A verified access token: who may read what, until when."""

    holder: str
    verifier: str
    scopes: tuple[Scope, ...]
    expires_at: float
    jti: str

    def allows(self, wanted: Scope) -> bool:
        """True when one granted scope covers ``wanted``."""
        return any(granted.covers(wanted) for granted in self.scopes)


def parse_bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` value (the scheme is case-insensitive).

    Raises ``VerificationError`` ``authorization-missing`` for anything else.
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise VerificationError(
            "an Authorization: Bearer <self-issued token> header is required",
            code="authorization-missing",
        )
    return token


def issue_access_token(
    signer: Signer,
    verifier_did: str,
    scopes: Iterable[str],
    *,
    clock: Clock = system_clock,
    lifetime: float = 300.0,
) -> str:
    """An access token from the holder ``signer`` for ``verifier_did`` to read ``scopes``.

    ``scopes`` are scope strings or bare credential types (made read scopes).
    """
    granted = scopes_for(scopes)
    for scope in granted:
        Scope.parse(scope)  # refuse nonsense now, not at the holder later
    issued = int(clock())
    claims = {
        "iss": signer.did,
        "sub": verifier_did,
        "aud": verifier_did,
        "jti": secrets.token_urlsafe(18),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
        "scope": " ".join(granted),
    }
    return signer.sign_jwt(claims, typ=ACCESS_TOKEN_TYP)


def verify_access_token(
    token: str,
    signer: Signer,
    verifier_did: str,
    *,
    clock: Clock = system_clock,
    skew: float = DEFAULT_SKEW,
    max_lifetime: float = 3600.0,
) -> AccessGrant:
    """Verify an access token the holder ``signer`` issued, presented by ``verifier_did``.

    Raises ``VerificationError``: ``jwt-*`` codes, ``access-token-invalid``
    (not issued by us), ``jwt-audience-mismatch`` (issued to someone else).
    """
    jws = decode_jws(token, typ=(ACCESS_TOKEN_TYP,))
    claims = jws.claims()
    if claims.get("iss") != signer.did or jws.kid != signer.kid:
        raise VerificationError("the access token was not issued here", code="access-token-invalid")
    verify_jws(jws, signer.key.public_key, key_alg=signer.key.alg)
    exp = check_time_claims(
        claims, clock(), skew=skew, require=("exp", "iat"), max_lifetime=max_lifetime
    )
    if claims.get("aud") != verifier_did or claims.get("sub") != verifier_did:
        raise VerificationError(
            "the access token was issued to another verifier", code="jwt-audience-mismatch"
        )
    raw_scopes, jti = claims.get("scope", ""), claims.get("jti")
    if not isinstance(raw_scopes, str) or not isinstance(jti, str) or exp is None:
        raise VerificationError("access token claims are malformed", code="jwt-malformed")
    parsed = []
    for text in raw_scopes.split()[:_MAX_SCOPES]:
        try:
            parsed.append(Scope.parse(text))
        except InvalidRequest:
            continue  # a scope we cannot read grants nothing
    return AccessGrant(signer.did, verifier_did, tuple(parsed), exp, jti)


def make_dsp_token(
    signer: Signer,
    verifier_did: str,
    access_token: str,
    *,
    clock: Clock = system_clock,
    lifetime: float = 120.0,
) -> str:
    """The self-issued ID token a connector sends with a DSP request to ``verifier_did``.

    ``access_token`` (from :func:`issue_access_token`) lets the verifier query
    our Credential Service. Send it as ``Authorization: Bearer <token>``.
    """
    return create_self_issued_token(
        signer, verifier_did, clock=clock, token=access_token, lifetime=lifetime
    )


class DcpTokenProvider:
    """Outgoing DCP authentication for a participant whose holder signs with ``signer``.

    ``await token_for(audience_did, scopes)`` returns the ``Authorization``
    value: a fresh self-issued token with a fresh access token for exactly
    those scopes (bare credential types are made read scopes). Both are
    short-lived and single-use on the verifier's side, so nothing is cached.
    """

    def __init__(
        self,
        signer: Signer,
        *,
        clock: Clock = system_clock,
        token_lifetime: float = 120.0,
        access_lifetime: float = 300.0,
        default_scopes: Sequence[str] = ("MembershipCredential",),
    ) -> None:
        self.signer = signer
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.access_lifetime = access_lifetime
        self.default_scopes = tuple(default_scopes)

    async def token_for(self, audience: str, scopes: Sequence[str] = ()) -> str:
        """``Bearer <self-issued token>`` for a request to ``audience`` (a DID)."""
        access = issue_access_token(
            self.signer,
            audience,
            scopes or self.default_scopes,
            clock=self.clock,
            lifetime=self.access_lifetime,
        )
        token = make_dsp_token(
            self.signer, audience, access, clock=self.clock, lifetime=self.token_lifetime
        )
        return "Bearer " + token
