"""What an enforcer needs to know about a policy before any request arrives.

:func:`plan` reads a spelled-out policy and returns a :class:`Plan`: which
request-context fields it reads (so the data plane gathers only those), the
tightest ``count`` limit (so usage can be reserved in blocks), the end of its
``dateTime`` window and every instant where a decision can flip (so a policy
monitor knows when to re-check), the credential types it mentions (to query
over DCP) and the purposes that satisfy it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from policies.duties import applicability
from policies.model import (
    Constraint,
    ConstraintNode,
    Duty,
    LogicalConstraint,
    Permission,
    Policy,
    Prohibition,
    all_duties,
    atoms,
    rule_nodes,
    rule_refs,
)
from policies.operands import convert_right
from policies.profile import Terms, claim_parts
from policies.values import DayWindow, Duration
from policies.vocabulary import Kind, LogicalOperator, Operator

__all__ = ["Plan", "plan"]

_POSITIVE = frozenset(
    {
        Operator.EQ,
        Operator.IS_ANY_OF,
        Operator.IS_A,
        Operator.IS_PART_OF,
        Operator.IS_ALL_OF,
        Operator.HAS_PART,
    }
)
_MEMBERSHIP = frozenset({Operator.IS_A, Operator.IS_PART_OF, Operator.HAS_PART})


@dataclass(frozen=True, slots=True)
class Plan:
    """Planning facts about a compiled policy."""

    reads: frozenset[str]
    """Request-context keys the policy can consult (``dateTime``, ``count``, ``credentials``...)."""
    count_limit: int | None
    """Most exercises any rule allows in total (``count lt 100`` -> 100); ``None`` if unlimited.

    Conservative: the smallest bound found anywhere in the policy."""
    count_period: timedelta | Duration | None
    """The ``timeInterval`` that ``count`` is counted over, if the policy states one."""
    valid_until: datetime | None
    """When every permission's ``dateTime`` window has closed; ``None`` if some has no end."""
    time_boundaries: tuple[datetime, ...] = field(repr=False)
    """Every instant at which a ``dateTime`` constraint changes truth value, sorted."""
    required_credentials: frozenset[str]
    """Credential types the policy mentions (``dst:credentialType`` and claim operands)."""
    required_purposes: frozenset[str]
    """Purposes that satisfy a permission's purpose constraint."""

    def next_boundary(self, after: datetime) -> datetime | None:
        """The first time boundary strictly after ``after`` (when to re-check), if any."""
        index = bisect.bisect_right(self.time_boundaries, after)
        return self.time_boundaries[index] if index < len(self.time_boundaries) else None


def _values(constraint: Constraint) -> tuple[str, ...]:
    right = constraint.right_operand
    return tuple(v.value for v in right) if isinstance(right, tuple) else (right.value,)


def _instants(right: Any) -> list[datetime]:
    out: list[datetime] = []
    for value in right if isinstance(right, tuple) else (right,):
        out.extend((value.start, value.end) if isinstance(value, DayWindow) else (value,))
    return out


def _upper(node: ConstraintNode, terms: Terms) -> datetime | None:
    """The latest instant ``node`` can hold at, from its dateTime constraints."""
    if isinstance(node, LogicalConstraint):
        bounds = [_upper(n, terms) for n in node.operands]
        if node.operator in (LogicalOperator.OR, LogicalOperator.XONE):
            return None if None in bounds else max(b for b in bounds if b is not None)
        known = [b for b in bounds if b is not None]
        return min(known) if known else None
    if node.left_operand != "dateTime" or isinstance(node.right_operand, tuple):
        return None
    right = convert_right(terms.spec("dateTime"), node)
    if node.operator not in (Operator.LT, Operator.LTEQ, Operator.EQ):
        return None
    if isinstance(right, DayWindow):
        return right.start if node.operator is Operator.LT else right.end
    return right  # type: ignore[no-any-return]


def _count_bound(c: Constraint, terms: Terms, *, permission: bool) -> int | None:
    right = convert_right(terms.spec("count"), c)
    values = right if isinstance(right, tuple) else (right,)
    if permission:
        if c.operator is Operator.LT:
            return int(values[0])
        if c.operator in (Operator.LTEQ, Operator.EQ, Operator.IS_ANY_OF):
            return int(max(values)) + 1
        return None
    if c.operator is Operator.GT:
        return int(values[0]) + 1
    if c.operator is Operator.GTEQ:
        return int(values[0])
    return None


def plan(policy: Policy, terms: Terms) -> Plan:
    """Planning facts of a spelled-out policy (see :func:`policies.normalize.normalize`)."""
    rules: list[Permission | Prohibition] = [*policy.permissions, *policy.prohibitions]
    duties = all_duties(policy, remedies=False)
    facts = _Facts(_structural_reads(rules, duties))
    for rule in (*rules, *duties):
        # a duty's action refinements are parameters for the enforcer, not context reads
        nodes = list(rule.constraints) if isinstance(rule, Duty) else rule_nodes(rule)
        for c in atoms(nodes):
            facts.note(rule, c, terms)
    return Plan(
        reads=frozenset(facts.reads),
        count_limit=min(facts.count_limits) if facts.count_limits else None,
        count_period=facts.period,
        valid_until=_valid_until(policy, terms),
        time_boundaries=tuple(sorted(facts.boundaries)),
        required_credentials=frozenset(facts.credentials),
        required_purposes=frozenset(facts.purposes),
    )


def _structural_reads(rules: list[Permission | Prohibition], duties: list[Duty]) -> set[str]:
    """The context fields read because of the rules' shape, before any constraint."""
    reads = {"action"}
    if any(r.target is not None for r in rules):
        reads.add("target")
    if any(r.assignee is not None for r in rules):
        reads.add("assignee")
    if duties:
        reads.add("duties")
    if any(ref.collection or ref.refinements for r in (*rules, *duties) for ref in rule_refs(r)):
        reads.add("partOf")
    return reads


@dataclass
class _Facts:
    """What :func:`plan` gathers constraint by constraint."""

    reads: set[str]
    count_limits: list[int] = field(default_factory=list)
    period: timedelta | Duration | None = None
    boundaries: set[datetime] = field(default_factory=set)
    credentials: set[str] = field(default_factory=set)
    purposes: set[str] = field(default_factory=set)

    def note(self, rule: Permission | Prohibition | Duty, c: Constraint, terms: Terms) -> None:
        """Take in constraint ``c`` of ``rule``."""
        in_permission = isinstance(rule, Permission)
        schedule = isinstance(rule, Duty) and c not in applicability(rule)
        if schedule and c.left_operand == "dateTime":
            self.boundaries.update(_instants(convert_right(terms.spec("dateTime"), c)))
            return
        spec = terms.spec(c.left_operand)
        self.reads.add(spec.context_key)
        if c.unit and spec.term == "payAmount":
            self.reads.add("payUnit")
        if c.operator in _MEMBERSHIP and spec.kind in (Kind.TEXT, Kind.IRI, Kind.CLAIM):
            self.reads.add("partOf")
        if spec.kind is Kind.CREDENTIALS:
            self.credentials.update(_values(c))
        elif spec.kind is Kind.CLAIM:
            self.credentials.add(claim_parts(spec.term)[0])
        elif spec.term == "dateTime":
            self.boundaries.update(_instants(convert_right(spec, c)))
        elif spec.term == "count" and not isinstance(rule, Duty):
            bound = _count_bound(c, terms, permission=in_permission)
            if bound is not None:
                self.count_limits.append(bound)
        elif spec.term == "timeInterval" and c.operator is Operator.EQ and self.period is None:
            duration = convert_right(spec, c)
            self.period = (
                timedelta(microseconds=int(duration.seconds * 1_000_000))
                if not duration.months
                else duration
            )
        elif spec.term == "purpose" and in_permission and c.operator in _POSITIVE:
            self.purposes.update(_values(c))


def _valid_until(policy: Policy, terms: Terms) -> datetime | None:
    """When every permission has stopped applying (None: some permission never ends)."""
    uppers = [
        _upper(LogicalConstraint(operator=LogicalOperator.AND, operands=tuple(nodes)), terms)
        if (nodes := rule_nodes(p))
        else None
        for p in policy.permissions
    ]
    return max(u for u in uppers if u is not None) if uppers and None not in uppers else None
