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

from policies.errors import Issue
from policies.model import (
    Duty,
    Permission,
    Policy,
    Prohibition,
    all_duties,
    atoms,
    rule_nodes,
)
from policies.normalize import normalize
from policies.operands import check_constraint
from policies.profile import Terms
from policies.vocabulary import PolicyType

__all__ = ["check_policy"]


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
    duties = all_duties(spelled)
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
        for constraint in atoms(rule_nodes(rule)):
            if constraint.path in seen:
                continue  # a policy-level constraint pushed into several rules
            seen.add(constraint.path)
            spec = terms.spec(constraint.left_operand)
            for code, message in check_constraint(spec, constraint):
                issues.append(Issue(code, constraint.path, message))
    return issues
