"""Semantic validation of a read policy (after :mod:`policies.parse` read its structure).

Checks, each with a stable issue code:

* ``empty-policy``: no permission, prohibition or obligation;
* ``missing-action``: a rule or duty without an action (the FORCE ``invalid`` cases);
* ``missing-target``: a Set or Agreement rule without a target (an Offer's
  target is implicit: the dataset it is attached to);
* ``missing-party``: an Agreement rule without assigner or assignee;
* ``duplicate-id``: two rules or duties with the same ``@id`` (duty states are
  reported by id, so they would be ambiguous);
* ``operator-not-applicable``, ``unexpected-list``, ``invalid-datatype``,
  ``invalid-value``: a constraint whose operator or right operand does not fit
  its left operand (see :func:`policies.operands.check_constraint`).

Unknown terms and malformed structure are reported while reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from policies.errors import Issue
from policies.model import (
    Asset,
    Constraint,
    ConstraintNode,
    Duty,
    LogicalConstraint,
    Party,
    Permission,
    Policy,
    Prohibition,
)
from policies.normalize import normalize
from policies.operands import check_constraint
from policies.profile import Terms
from policies.vocabulary import PolicyType

__all__ = ["check_policy", "iter_constraints"]


def iter_constraints(nodes: Iterable[ConstraintNode]) -> Iterator[Constraint]:
    """Every atomic constraint under ``nodes``, depth first."""
    for node in nodes:
        if isinstance(node, LogicalConstraint):
            yield from iter_constraints(node.operands)
        else:
            yield node


def _ref_constraints(ref: Asset | Party | None) -> tuple[ConstraintNode, ...]:
    return ref.refinements if ref is not None else ()


def _rule_constraints(rule: Permission | Prohibition | Duty) -> Iterator[Constraint]:
    yield from iter_constraints(rule.constraints)
    if rule.action is not None:
        yield from iter_constraints(rule.action.refinements)
    for ref in (rule.target, rule.assigner, rule.assignee, *rule.parties.values()):
        yield from iter_constraints(_ref_constraints(ref))


def _duties(duties: Iterable[Duty]) -> Iterator[Duty]:
    for duty in duties:
        yield duty
        yield from _duties(duty.consequences)


def check_policy(policy: Policy, terms: Terms) -> list[Issue]:
    """Semantic issues of ``policy`` (its inheritance is not resolved here)."""
    issues: list[Issue] = []
    if not (policy.permissions or policy.prohibitions or policy.obligations):
        issues.append(
            Issue("empty-policy", "", "a policy needs a permission, prohibition or obligation")
        )
    spelled = normalize(policy.model_copy(update={"inherit_from": ()}))
    inherits = bool(policy.inherit_from)
    rules: list[Permission | Prohibition] = [*spelled.permissions, *spelled.prohibitions]
    duties = list(_duties(spelled.obligations))
    for permission in spelled.permissions:
        duties.extend(_duties(permission.duties))
    for prohibition in spelled.prohibitions:
        duties.extend(_duties(prohibition.remedies))
    seen_ids: set[str] = set()
    for rule in (*rules, *duties):
        if rule.uid is not None and rule.uid in seen_ids:
            issues.append(Issue("duplicate-id", rule.path, f"{rule.uid} names two rules"))
        if rule.uid is not None:
            seen_ids.add(rule.uid)
    for rule in (*rules, *duties):
        kind = type(rule).__name__.lower()
        if rule.action is None:
            issues.append(Issue("missing-action", rule.path, f"this {kind} has no action"))
        if inherits or isinstance(rule, Duty):
            continue
        if spelled.type is not PolicyType.OFFER and rule.target is None:
            issues.append(
                Issue("missing-target", rule.path, f"a {spelled.type} {kind} needs a target")
            )
        if spelled.type is PolicyType.AGREEMENT:
            for role in ("assigner", "assignee"):
                if getattr(rule, role) is None:
                    issues.append(
                        Issue("missing-party", rule.path, f"an Agreement {kind} needs an {role}")
                    )
    seen: set[str] = set()
    for rule in (*rules, *duties):
        for constraint in _rule_constraints(rule):
            if constraint.path in seen:
                continue  # a policy-level constraint pushed into several rules
            seen.add(constraint.path)
            spec = terms.spec(constraint.left_operand)
            for code, message in check_constraint(spec, constraint):
                issues.append(Issue(code, constraint.path, message))
    return issues
