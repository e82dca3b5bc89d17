"""Spelling out a policy: compact-form properties pushed into rules, inheritance merged.

ODRL's compact form lets ``target``, ``assigner``, ``assignee``, ``action`` and
``constraint`` stand on the policy and apply to every rule that lacks its own
(constraints are added to each permission's and prohibition's own). A child
policy (``inheritFrom``) gets its parents' rules; the parents must be supplied
by the caller, since the engine never fetches anything. Parent and child must
not state different conflict strategies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from policies.errors import Issue, PolicyValidationError, pointer
from policies.model import Duty, Permission, Policy, Prohibition

__all__ = ["normalize"]

R = TypeVar("R", Permission, Prohibition, Duty)


def _push(rule: R, policy: Policy, *, with_action_and_constraints: bool) -> R:
    updates: dict[str, object] = {}
    for name in ("target", "assigner", "assignee"):
        if getattr(rule, name) is None and getattr(policy, name) is not None:
            updates[name] = getattr(policy, name)
    if with_action_and_constraints:
        if rule.action is None and policy.action is not None:
            updates["action"] = policy.action
        if policy.constraints:
            updates["constraints"] = policy.constraints + rule.constraints
    return rule.model_copy(update=updates) if updates else rule


def _rebase(rule: R, prefix: str) -> R:
    """Prefix the paths of an inherited rule and its duties with the parent's id."""
    updates: dict[str, object] = {"path": prefix + rule.path}
    if isinstance(rule, Permission):
        updates["duties"] = tuple(_rebase(d, prefix) for d in rule.duties)
    elif isinstance(rule, Prohibition):
        updates["remedies"] = tuple(_rebase(d, prefix) for d in rule.remedies)
    else:
        updates["consequences"] = tuple(_rebase(d, prefix) for d in rule.consequences)
    return rule.model_copy(update=updates)


def _local(policy: Policy) -> Policy:
    if (
        policy.target is None
        and policy.assigner is None
        and policy.assignee is None
        and policy.action is None
        and not policy.constraints
    ):
        return policy
    return policy.model_copy(
        update={
            "permissions": tuple(
                _push(r, policy, with_action_and_constraints=True) for r in policy.permissions
            ),
            "prohibitions": tuple(
                _push(r, policy, with_action_and_constraints=True) for r in policy.prohibitions
            ),
            "obligations": tuple(
                _push(d, policy, with_action_and_constraints=False) for d in policy.obligations
            ),
            "action": None,
            "constraints": (),
        }
    )


def normalize(
    policy: Policy,
    parents: Mapping[str, Policy] | None = None,
    *,
    _seen: tuple[str, ...] = (),
) -> Policy:
    """The policy with policy-level properties pushed into its rules and parents merged in.

    Raises :class:`PolicyValidationError` (``unresolved-parent``,
    ``inheritance-cycle``, ``conflict-strategy-mismatch``) when inheritance
    cannot be resolved.
    """
    local = _local(policy)
    if not policy.inherit_from:
        return local
    issues: list[Issue] = []
    permissions: list[Permission] = []
    prohibitions: list[Prohibition] = []
    obligations: list[Duty] = []
    conflict = policy.conflict
    profiles = list(policy.profiles)
    for index, parent_id in enumerate(policy.inherit_from):
        path = pointer("/inheritFrom", index)
        if parent_id in _seen or parent_id == policy.uid:
            issues.append(Issue("inheritance-cycle", path, f"{parent_id} inherits from itself"))
            continue
        parent = (parents or {}).get(parent_id)
        if parent is None:
            issues.append(
                Issue("unresolved-parent", path, f"parent policy {parent_id} was not supplied")
            )
            continue
        merged = normalize(parent, parents, _seen=(*_seen, policy.uid))
        if conflict and merged.conflict and conflict != merged.conflict:
            issues.append(
                Issue(
                    "conflict-strategy-mismatch",
                    path,
                    f"parent {parent_id} states conflict {merged.conflict}, the child {conflict}",
                )
            )
        conflict = conflict or merged.conflict
        profiles.extend(p for p in merged.profiles if p not in profiles)
        prefix = f"{parent_id}#"
        permissions.extend(_rebase(r, prefix) for r in merged.permissions)
        prohibitions.extend(_rebase(r, prefix) for r in merged.prohibitions)
        obligations.extend(_rebase(d, prefix) for d in merged.obligations)
    if issues:
        raise PolicyValidationError(issues)
    return local.model_copy(
        update={
            "permissions": (*permissions, *local.permissions),
            "prohibitions": (*prohibitions, *local.prohibitions),
            "obligations": (*obligations, *local.obligations),
            "conflict": conflict,
            "profiles": tuple(profiles),
            "inherit_from": (),
        }
    )
