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

When a service calls another on its caller's behalf, :func:`peer_refused`
turns the other service's 4xx into an error of the same family (the peer's
status, code and detail ride along), and anything else into an
``UpstreamError``: 502 means the peer failed, not that the input was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    "peer_refused",
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


# What a peer's 4xx means to our caller. A peer's 401/403 says the peer does
# not accept *us* (or our request): to our caller that is a 403, not a
# request to authenticate.
_PEER_FAMILIES: dict[int, type[DataspaceError]] = {
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    429: RateLimited,
}


def _text(value: Any, limit: int = 500) -> str | None:
    if isinstance(value, str) and value:
        return value[:limit]
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        texts = [v for v in value if isinstance(v, str)]
        return "; ".join(texts)[:limit] or None
    return None


def peer_refused(status: int, answer: Any, detail: str, *, code: str) -> DataspaceError:
    """Our error for a peer's error answer to a call made for our caller.

    A 4xx keeps its family (400, 403, 404, 409, 429) with ``code`` as ours and
    the peer's ``upstream_status``, ``upstream_code`` and ``upstream_detail``
    (a problem+json ``detail``, a DSP error's ``reason``, an OAuth
    ``error_description``) alongside; the
    peer's detail is also appended to ``detail``. A 5xx or anything else is
    an :class:`UpstreamError`.
    """
    peer = answer if isinstance(answer, Mapping) else {}
    # problem+json (code, detail), DSP errors (code, reason), OAuth (error, error_description)
    peer_code = _text(peer.get("code"), 100) or _text(peer.get("error"), 100)
    peer_detail = (_text(peer.get("detail")) or _text(peer.get("reason"))
                   or _text(peer.get("error_description")) or _text(peer.get("title")))
    extra = {"upstream_status": status, "upstream_code": peer_code,
             "upstream_detail": peer_detail}
    text = f"{detail}: {peer_detail or peer_code}" if peer_detail or peer_code else detail
    if 400 <= status < 500:
        family = _PEER_FAMILIES.get(status, InvalidRequest)
        return family(text, code=code, extra=extra)
    return UpstreamError(text, code=code, extra=extra)
