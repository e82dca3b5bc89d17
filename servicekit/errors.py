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

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A subclass states what differs in its class line: ``class X(NotFound, code="x-gone")``.

        ``status`` (given by the families), ``code`` (the ``default_code``) and
        ``title``; what it leaves out it inherits.
        """
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.default_code = code
        if title is not None:
            cls.title = title

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


class InvalidRequest(DataspaceError, status=400, code="invalid-request", title="Invalid request"):
    """The request is malformed or semantically wrong; fix the input."""


class ValidationFailed(InvalidRequest, code="validation-failed", title="Validation failed"):
    """Input failed validation; ``errors`` lists each failing location."""

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail, code=code, extra={"errors": errors or []})
        self.errors = errors or []


class PayloadTooLarge(InvalidRequest, status=413, code="payload-too-large",
                      title="Payload too large"):
    """The request body exceeds the configured limit."""


class Unauthorized(DataspaceError, status=401, code="unauthorized", title="Unauthorized"):
    """No or bad credentials: authenticate and retry."""


class InvalidToken(Unauthorized, code="invalid-token", title="Invalid token"):
    """A presented token (JWT, API key) failed verification."""


class Forbidden(DataspaceError, status=403, code="forbidden", title="Forbidden"):
    """Authenticated, but not allowed."""


class PolicyDenied(Forbidden, code="policy-denied", title="Denied by usage policy"):
    """A usage policy denied the request; ``reasons`` say why."""


class NotFound(DataspaceError, status=404, code="not-found", title="Not found"):
    """The resource does not exist (or is not yours to see)."""


class Conflict(DataspaceError, status=409, code="conflict", title="Conflict"):
    """The current state does not allow this request."""


class IllegalTransition(Conflict, code="illegal-transition", title="Illegal state transition"):
    """A state machine refused a transition."""


class RateLimited(DataspaceError, status=429, code="rate-limited", title="Too many requests"):
    """Too many requests; retry later."""


class UpstreamError(DataspaceError, status=502, code="upstream-error", title="Upstream error"):
    """A service we depend on failed or answered nonsense."""


class UpstreamTimeout(UpstreamError, status=504, code="upstream-timeout",
                      title="Upstream timeout"):
    """A service we depend on did not answer in time."""


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
