"""Errors of the policy engine.

The tree is small on purpose; a deny is never an error (it is a
:class:`~policies.decision.Decision`)::

    PolicyError                    root of everything this package raises
    ├── PolicyValidationError      the policy document is not a valid ODRL policy
    ├── ContextError               the request context is malformed
    └── NotOfferableError          a preset was asked for something never offered (red level)

Validation errors carry a list of :class:`Issue` values, each with a stable
kebab-case ``code``, a JSON pointer ``path`` into the document and a
human-readable ``message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ContextError",
    "Issue",
    "NotOfferableError",
    "PolicyError",
    "PolicyValidationError",
    "pointer",
]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a policy or a request context."""

    code: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The issue as a JSON object."""
        return {"code": self.code, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.code} at {self.path or '/'}: {self.message}"


def pointer(parent: str, *tokens: str | int) -> str:
    """Extend JSON pointer ``parent`` by ``tokens`` (RFC 6901 escaping)."""
    out = parent
    for token in tokens:
        text = str(token).replace("~", "~0").replace("/", "~1")
        out = f"{out}/{text}"
    return out


class PolicyError(Exception):
    """Root of the errors raised by :mod:`policies`."""

    code = "policy-error"


class _IssuesError(PolicyError):
    def __init__(self, issues: Iterable[Issue], what: str) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        first = str(self.issues[0]) if self.issues else "no details"
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{what}: {first}{more}")

    @property
    def codes(self) -> tuple[str, ...]:
        """The issue codes, in document order."""
        return tuple(issue.code for issue in self.issues)


class PolicyValidationError(_IssuesError):
    """The document is not a valid ODRL policy; ``issues`` says why and where."""

    code = "invalid-policy"

    def __init__(self, issues: Iterable[Issue]) -> None:
        super().__init__(issues, "invalid policy")


class ContextError(_IssuesError):
    """The request context is malformed (wrong type or unknown key)."""

    code = "invalid-context"

    def __init__(self, issues: Iterable[Issue]) -> None:
        super().__init__(issues, "invalid request context")


class NotOfferableError(PolicyError):
    """A NON_PUBLIC (red) dataset is never offered, so no offer can be built."""

    code = "not-offerable"
