"""What an evaluation returns: a :class:`Decision`, never an exception for a deny.

A decision says whether the request is permitted, on what basis
(:class:`Basis`), which rules decided it, why (:class:`Reason`, human
readable), and which duties the enforcer must perform
(:class:`DutyDirective`: log, notify a URL, delete after a date, attribute,
compensate...).

Compiled policies build reasons lazily: a deny carries a way to explain itself,
and the explanation is produced on first access of :attr:`Decision.reasons`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from policies.context import DutyState

__all__ = ["Basis", "Decision", "DutyDirective", "DutyOrigin", "Reason"]


class Basis(StrEnum):
    """Why the decision came out as it did."""

    PERMITTED = "permitted"
    """An applicable permission and no applicable prohibition."""
    PERMITTED_OVER_PROHIBITION = "permitted-over-prohibition"
    """Permission and prohibition both apply; the policy's conflict strategy is ``perm``."""
    PROHIBITED = "prohibited"
    """A prohibition applies (alone, or over a permission with strategy ``prohibit``)."""
    POLICY_VOID = "policy-void"
    """Permission and prohibition both apply and the strategy is ``invalid`` (ODRL's default)."""
    NO_APPLICABLE_PERMISSION = "no-applicable-permission"
    """Closed world: nothing permits the request."""


class DutyOrigin(StrEnum):
    """Where a duty to perform comes from."""

    DUTY = "duty"
    """A duty of the permission that granted the request."""
    OBLIGATION = "obligation"
    """A policy-level obligation."""
    CONSEQUENCE = "consequence"
    """The consequence of a violated duty or obligation."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One step of an explanation."""

    code: str
    message: str
    rule: str | None = None
    """The rule's ``@id`` or JSON pointer."""
    constraint: str | None = None
    """The constraint's JSON pointer."""

    def to_dict(self) -> dict[str, str]:
        """The reason as a JSON object."""
        out = {"code": self.code, "message": self.message}
        if self.rule is not None:
            out["rule"] = self.rule
        if self.constraint is not None:
            out["constraint"] = self.constraint
        return out


@dataclass(frozen=True, slots=True)
class DutyDirective:
    """A duty the enforcer must perform, with what it needs to perform it."""

    id: str
    """The duty's ``@id``, else its JSON pointer (the key for ``RequestContext.duties``)."""
    action: str
    origin: DutyOrigin
    rule: str | None
    """The permission (or, for a consequence, the duty) it belongs to."""
    state: DutyState = DutyState.NOT_SET
    target: str | None = None
    assignee: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Refinements with ``eq`` (``payAmount``, ``unit``, ``dst:endpoint``...)."""
    parties: Mapping[str, str] = field(default_factory=dict)
    """Party functions (``attributedParty``, ``informedParty``...)."""
    not_before: datetime | None = None
    """From ``dateTime gt/gteq`` constraints: perform it from then on (delete after...)."""
    not_after: datetime | None = None
    """From ``dateTime lt/lteq`` constraints: perform it by then."""
    conditions: tuple[str, ...] = ()
    """Other conditions of the duty, as text."""

    def to_dict(self) -> dict[str, Any]:
        """The duty as a JSON object (empty fields left out)."""
        out: dict[str, Any] = {
            "id": self.id,
            "action": self.action,
            "origin": str(self.origin),
            "state": str(self.state),
        }
        optional: dict[str, Any] = {
            "rule": self.rule,
            "target": self.target,
            "assignee": self.assignee,
            "parameters": dict(self.parameters) or None,
            "parties": dict(self.parties) or None,
            "notBefore": self.not_before.isoformat() if self.not_before else None,
            "notAfter": self.not_after.isoformat() if self.not_after else None,
            "conditions": list(self.conditions) or None,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


class Decision:
    """The outcome of evaluating a policy for one request."""

    __slots__ = ("_explain", "_reasons", "basis", "decided_by", "duties", "permitted", "policy_id")

    def __init__(
        self,
        *,
        permitted: bool,
        basis: Basis,
        policy_id: str,
        decided_by: tuple[str, ...] = (),
        duties: tuple[DutyDirective, ...] = (),
        reasons: Iterable[Reason] | None = None,
        explain: Callable[[], Iterable[Reason]] | None = None,
    ) -> None:
        self.permitted = permitted
        self.basis = basis
        self.policy_id = policy_id
        self.decided_by = decided_by
        """The rules that decided (the granting permission, the applicable prohibitions)."""
        self.duties = duties
        """Duties the enforcer must perform (pending ones only)."""
        self._reasons = tuple(reasons) if reasons is not None else None
        self._explain = explain

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """The explanation, most important first (built on first access when lazy)."""
        if self._reasons is None:
            explain = self._explain
            self._reasons = tuple(explain()) if explain is not None else ()
            self._explain = None
        return self._reasons

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON: ``permitted``, ``basis``, ``reasons``, ``duties``..."""
        return {
            "permitted": self.permitted,
            "basis": str(self.basis),
            "policy": self.policy_id,
            "decidedBy": list(self.decided_by),
            "reasons": [r.to_dict() for r in self.reasons],
            "duties": [d.to_dict() for d in self.duties],
        }

    def __repr__(self) -> str:
        return (
            f"Decision(permitted={self.permitted}, basis={self.basis!s}, "
            f"decided_by={self.decided_by!r}, duties={[d.id for d in self.duties]!r})"
        )
