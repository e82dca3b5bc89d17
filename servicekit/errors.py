"""The error hierarchy every service and library raises.

Each error carries a stable kebab-case ``code``; the problem+json ``type`` is a
documentation URI ending in that code (RFC 9457). The families are named for
what the caller can do about them::

    DataspaceError                     500 internal-error
    ├── InvalidRequest                 400 invalid-request      (fix the input)
    │   ├── ValidationFailed           400 validation-failed    (field errors listed)
    │   └── PayloadTooLarge            413 payload-too-large
    ├── Unauthorized                   401 unauthorized         (authenticate)
    │   └── InvalidToken               401 invalid-token
    ├── Forbidden                      403 forbidden            (you may not)
    │   └── PolicyDenied               403 policy-denied        (the usage policy says no)
    ├── NotFound                       404 not-found
    ├── Conflict                       409 conflict             (the state says no)
    │   └── IllegalTransition          409 illegal-transition
    ├── RateLimited                    429 rate-limited
    └── UpstreamError                  502 upstream-error       (someone else failed)
        └── UpstreamTimeout            504 upstream-timeout

Expected outcomes (a policy denies, a credential is revoked) are values in
the domain; these exceptions are for requests that cannot be served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "PROBLEM_BASE_URI",
    "Conflict",
    "DataspaceError",
    "Forbidden",
    "IllegalTransition",
    "InvalidRequest",
    "InvalidToken",
    "NotFound",
    "PayloadTooLarge",
    "PolicyDenied",
    "RateLimited",
    "Unauthorized",
    "UpstreamError",
    "UpstreamTimeout",
    "ValidationFailed",
]

PROBLEM_BASE_URI = "https://dataspace-toolkit.dev/problems/"


class DataspaceError(Exception):
    """Root of every error the toolkit raises on purpose.

    ``code`` may be refined per instance (e.g. ``did-resolution-failed``) while
    the HTTP status comes from the family. ``extra`` members are added to the
    problem+json body; they must never hold secrets or internals.
    """

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.code = code or self.default_code
        self.extra: dict[str, Any] = dict(extra or {})

    @property
    def type_uri(self) -> str:
        """The problem type: a documentation URI ending in the stable code."""
        return PROBLEM_BASE_URI + self.code

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem details object."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        for key, value in self.extra.items():
            body.setdefault(key, value)
        return body


class InvalidRequest(DataspaceError):
    """The request is malformed or semantically wrong; fix the input."""

    status = 400
    default_code = "invalid-request"
    title = "Invalid request"


class ValidationFailed(InvalidRequest):
    """Input failed validation; ``errors`` lists each failing location."""

    default_code = "validation-failed"
    title = "Validation failed"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail, code=code, extra={"errors": errors or []})
        self.errors = errors or []


class PayloadTooLarge(InvalidRequest):
    """The request body exceeds the configured limit."""

    status = 413
    default_code = "payload-too-large"
    title = "Payload too large"


class Unauthorized(DataspaceError):
    """No or bad credentials: authenticate and retry."""

    status = 401
    default_code = "unauthorized"
    title = "Unauthorized"


class InvalidToken(Unauthorized):
    """A presented token (JWT, API key) failed verification."""

    default_code = "invalid-token"
    title = "Invalid token"


class Forbidden(DataspaceError):
    """Authenticated, but not allowed."""

    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class PolicyDenied(Forbidden):
    """A usage policy denied the request; ``reasons`` say why."""

    default_code = "policy-denied"
    title = "Denied by usage policy"


class NotFound(DataspaceError):
    """The resource does not exist (or is not yours to see)."""

    status = 404
    default_code = "not-found"
    title = "Not found"


class Conflict(DataspaceError):
    """The current state does not allow this request."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    """A state machine refused a transition."""

    default_code = "illegal-transition"
    title = "Illegal state transition"


class RateLimited(DataspaceError):
    """Too many requests; retry later."""

    status = 429
    default_code = "rate-limited"
    title = "Too many requests"


class UpstreamError(DataspaceError):
    """A service we depend on failed or answered nonsense."""

    status = 502
    default_code = "upstream-error"
    title = "Upstream error"


class UpstreamTimeout(UpstreamError):
    """A service we depend on did not answer in time."""

    status = 504
    default_code = "upstream-timeout"
    title = "Upstream timeout"
