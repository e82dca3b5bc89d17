"""Errors the trust anchor raises, each a servicekit family with a stable code.

::

    servicekit.errors.DataspaceError
    ├── InvalidRequest (400)
    │   ├── OAuthError              the OID4VCI error codes (invalid_grant, invalid_proof...)
    │   └── NotVerified             VC-API verify: ``verified: false`` with the reason
    ├── Unauthorized (401)
    │   ├── ChallengeInvalid        challenge-invalid
    │   ├── ProofInvalid            proof-invalid
    │   └── OAuthUnauthorized       invalid_token
    ├── Forbidden (403)
    │   └── NotOperator             operator-only
    ├── NotFound (404)
    │   └── ParticipantNotFound     participant-not-found
    └── Conflict (409)
        └── ApplicationExists       application-exists

A caller's self-issued token that does not verify stays an
:class:`identity.errors.VerificationError` (401, its own code). The one error
middleware renders them all; the OID4VCI endpoints render the OAuth ones in
the OAuth shape.
"""

from __future__ import annotations

from typing import Any

from identity.errors import VerificationError
from servicekit.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized

__all__ = [
    "ApplicationExists",
    "ChallengeInvalid",
    "NotOperator",
    "NotVerified",
    "OAuthError",
    "OAuthUnauthorized",
    "ParticipantNotFound",
    "ProofInvalid",
]


class ParticipantNotFound(NotFound, code="participant-not-found"):
    """No participant or application with that id or DID."""


class ApplicationExists(Conflict, code="application-exists"):
    """The DID already has a live application or membership."""


class ChallengeInvalid(Unauthorized, code="challenge-invalid"):
    """The DID-control proof's challenge is unknown, used or expired."""


class ProofInvalid(Unauthorized, code="proof-invalid"):
    """A proof (of DID control, or an OID4VCI key proof) does not verify."""


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


class NotOperator(Forbidden, code="operator-only"):
    """The caller is authenticated but not the operator."""


class NotVerified(InvalidRequest, title="Verification failed"):
    """VC-API: the credential or presentation given to verify does not (400).

    The problem body is also a VC-API verification result: ``verified:
    false``, no ``checks``, and the reason in ``errors`` (with the JSON
    ``pointer`` of a data-model refusal).
    """

    @classmethod
    def of(cls, exc: VerificationError) -> NotVerified:
        """The VC-API answer to a failed verification."""
        error: dict[str, Any] = {"code": exc.code, "message": exc.detail}
        pointer = exc.extra.get("pointer")
        if isinstance(pointer, str):
            error["pointer"] = pointer
        result = {"verified": False, "checks": [], "warnings": [], "errors": [error]}
        return cls(exc.detail, code=exc.code, extra={**exc.extra, **result})
