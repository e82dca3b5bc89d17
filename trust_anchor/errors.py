"""Errors the trust anchor raises, each a servicekit family with a stable code."""

from __future__ import annotations

from servicekit.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized

__all__ = [
    "ApplicationExists",
    "ChallengeInvalid",
    "NotOperator",
    "OAuthError",
    "OAuthUnauthorized",
    "ParticipantNotFound",
    "ProofInvalid",
]


class ParticipantNotFound(NotFound):
    """No participant or application with that id or DID."""

    default_code = "participant-not-found"


class ApplicationExists(Conflict):
    """The DID already has a live application or membership."""

    default_code = "application-exists"


class ChallengeInvalid(Unauthorized):
    """The DID-control proof's challenge is unknown, used or expired."""

    default_code = "challenge-invalid"


class ProofInvalid(Unauthorized):
    """A proof (of DID control, or an OID4VCI key proof) does not verify."""

    default_code = "proof-invalid"


class OAuthError(InvalidRequest):
    """An OAuth 2.0 / OID4VCI error: rendered as ``{"error": code, ...}``.

    The standard's error codes (``invalid_grant``, ``invalid_proof``...) are
    kept as given, since wallets act on them.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)


class OAuthUnauthorized(Unauthorized):
    """An OAuth 2.0 bearer-token error (``invalid_token``), status 401."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)


class NotOperator(Forbidden):
    """The caller is authenticated but not the operator."""

    default_code = "operator-only"
