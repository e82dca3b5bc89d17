"""Turning ODRL duties into directives for the enforcer (shared by both evaluators).

Semantics (following the FORCE test suite and ODRL 2.2):

* a permission's duty blocks the permission only when its state is
  ``violated``; ``notSet`` duties are returned as directives to perform,
  ``fulfilled`` ones are left out;
* a violated duty's consequences become duties to perform (ODRL: "the original
  duty as well as the consequence must all be fulfilled"), so they are returned
  even on a deny;
* policy-level obligations never gate a permission; pending ones are returned
  with a permit, and a violated obligation's consequences with any decision;
* a duty's top-level ``dateTime`` constraints schedule it (``not_before`` /
  ``not_after``, e.g. "delete after 2026-01-01"); its other constraints decide
  whether it is in effect for this request (an undetermined one counts as in
  effect);
* refinements of the duty's action with ``eq`` become ``parameters``
  (``payAmount`` 5.00 with ``unit`` EUR, ``dst:endpoint`` for ``dst:notify``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeGuard

from policies.decision import DutyDirective, DutyOrigin
from policies.model import Constraint, ConstraintNode, Duty
from policies.values import DayWindow, parse_date, parse_datetime
from policies.vocabulary import Operator

__all__ = ["applicability", "directive"]


def _moment(constraint: Constraint, *, lower: bool) -> datetime | None:
    if isinstance(constraint.right_operand, tuple):
        return None
    text = constraint.right_operand.value
    try:
        value: datetime | DayWindow = parse_datetime(text) if "T" in text else parse_date(text)
    except ValueError:
        return None
    if isinstance(value, datetime):
        return value
    op = constraint.operator
    if lower:
        return value.end if op is Operator.GT else value.start
    return value.end if op is Operator.LTEQ else value.start


def _is_schedule(node: ConstraintNode) -> TypeGuard[Constraint]:
    return (
        isinstance(node, Constraint)
        and node.left_operand == "dateTime"
        and node.operator in (Operator.GT, Operator.GTEQ, Operator.LT, Operator.LTEQ)
    )


def applicability(duty: Duty) -> tuple[ConstraintNode, ...]:
    """The constraints deciding whether ``duty`` is in effect (all but its schedule)."""
    return tuple(c for c in duty.constraints if not _is_schedule(c))


def directive(duty: Duty, origin: DutyOrigin, rule: str | None) -> DutyDirective:
    """The static directive for a pending ``duty`` (state ``notSet``)."""
    parameters: dict[str, str] = {}
    conditions: list[str] = []
    if duty.action is not None:
        for node in duty.action.refinements:
            if (
                isinstance(node, Constraint)
                and node.operator is Operator.EQ
                and not isinstance(node.right_operand, tuple)
            ):
                parameters[node.left_operand] = node.right_operand.value
                if node.unit:
                    parameters["unit"] = node.unit
            else:
                conditions.append(str(node))
    not_before = not_after = None
    for node in duty.constraints:
        if _is_schedule(node):
            lower = node.operator in (Operator.GT, Operator.GTEQ)
            moment = _moment(node, lower=lower)
            if lower:
                not_before = (
                    moment if not_before is None or moment is None else max(not_before, moment)
                )
            else:
                not_after = (
                    moment if not_after is None or moment is None else min(not_after, moment)
                )
        else:
            conditions.append(str(node))
    return DutyDirective(
        id=duty.key,
        action=duty.action.name if duty.action else "",
        origin=origin,
        rule=rule,
        target=duty.target.uid if duty.target else None,
        assignee=duty.assignee.uid if duty.assignee else None,
        parameters=parameters,
        parties={name: party.uid for name, party in duty.parties.items() if party.uid},
        not_before=not_before,
        not_after=not_after,
        conditions=tuple(conditions),
    )
