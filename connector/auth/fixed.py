"""Fixed tokens: a static ``Authorization`` value per caller (development and the TCK).

Inbound, a configured token (sent bare or as ``Bearer <token>``) stands for a
configured caller; anything else is refused. Outbound, we present one
configured token to every peer. There is no cryptography here: use it on
loopback, in tests and against the Eclipse DSP TCK, never between real
participants.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping, Sequence

from aiohttp import web

from connector.auth.base import AuthContext, AuthSeam
from connector.domain.caller import Caller
from connector.settings import FixedCaller
from servicekit.errors import Conflict, Unauthorized

__all__ = ["FixedTokenAuth", "create_fixed_token_auth"]


class FixedTokenAuth:
    """Both directions of the fixed-token seam."""

    def __init__(self, tokens: Mapping[str, FixedCaller], outbound: str | None) -> None:
        self._callers = {
            token: Caller(
                id=spec.id,
                credential_types=frozenset(spec.credential_types),
                claims={k: dict(v) for k, v in spec.claims.items()},
                method="fixed-token",
            )
            for token, spec in tokens.items()
        }
        self._outbound = outbound

    async def authenticate(self, request: web.Request,
                           required: Collection[str] = ()) -> Caller:
        """The caller the presented token stands for.

        ``required`` is not checked here: the configured caller's credential
        types are what the offer policy is evaluated against.
        """
        header = request.headers.get("Authorization", "").strip()
        if header[:7].lower() == "bearer ":
            header = header[7:].strip()
        if header:
            for token, caller in self._callers.items():
                if hmac.compare_digest(token.encode(), header.encode()):
                    return caller
        raise Unauthorized(
            "a valid Authorization token is required", code="dsp-unauthorized"
        )

    async def token_for(self, audience: str, scopes: Sequence[str] = ()) -> str:
        """The configured outbound token."""
        if not self._outbound:
            raise Conflict(
                "no outbound token is configured (auth.outbound_token)",
                code="outbound-token-missing",
            )
        return self._outbound


def create_fixed_token_auth(context: AuthContext) -> AuthSeam:
    """The ``fixed-token`` mode; TCK mode adds the TCK's token."""
    settings = context.settings
    tokens = dict(settings.auth.tokens)
    outbound = settings.auth.outbound_token
    if settings.tck.enabled:
        tokens.setdefault(settings.tck.token, FixedCaller(id=settings.tck.participant_id))
        outbound = outbound or settings.tck.token
    auth = FixedTokenAuth(tokens, outbound)
    return AuthSeam(authenticator=auth, tokens=auth, protocol=None)
