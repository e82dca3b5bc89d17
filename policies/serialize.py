"""Writing policies back in the compact JSON-LD form of DSP 2025-1 messages.

Terms are bare ODRL terms (``read``, ``dateTime``), profile terms stay prefixed
(``dst:credentialType``), numbers travel as typed literals
(``{"@value": "100", "@type": "xsd:integer"}``) as the DSP contract schema
requires, and arrays are used where DSP uses them (``permission``,
``constraint``, ``duty``). ``parse_policy(to_dsp(p)) == p`` for every policy.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from policies.model import (
    Action,
    Asset,
    Constraint,
    ConstraintNode,
    Duty,
    Party,
    Permission,
    Policy,
    Prohibition,
    Value,
)
from policies.vocabulary import DSPACE_CONTEXT

__all__ = ["fingerprint", "to_dsp"]


def _value(value: Value) -> Any:
    if value.iri:
        return {"@id": value.value}
    if value.datatype:
        return {"@value": value.value, "@type": value.datatype}
    return value.value


def _constraint(node: ConstraintNode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.uid:
        out["@id"] = node.uid
    if isinstance(node, Constraint):
        right = node.right_operand
        out["leftOperand"] = node.left_operand
        out["operator"] = str(node.operator)
        out["rightOperand"] = (
            [_value(v) for v in right] if isinstance(right, tuple) else _value(right)
        )
        if node.unit:
            out["unit"] = node.unit
        if node.datatype:
            out["dataType"] = node.datatype
        return out
    out[str(node.operator)] = [_constraint(n) for n in node.operands]
    return out


def _action_iri(name: str) -> str:
    return name if ":" in name else f"odrl:{name}"


def _action(action: Action) -> Any:
    if not action.refinements:
        return action.name
    return {
        "rdf:value": {"@id": _action_iri(action.name)},
        "refinement": [_constraint(c) for c in action.refinements],
    }


def _ref(ref: Asset | Party) -> Any:
    if not ref.collection and ref.source is None and not ref.refinements:
        return ref.uid
    out: dict[str, Any] = {
        "@type": "AssetCollection" if isinstance(ref, Asset) else "PartyCollection"
    }
    if ref.uid:
        out["@id"] = ref.uid
    if ref.source:
        out["source"] = ref.source
    if ref.refinements:
        out["refinement"] = [_constraint(c) for c in ref.refinements]
    return out


def _rule(rule: Permission | Prohibition | Duty) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.uid:
        out["@id"] = rule.uid
    if rule.action is not None:
        out["action"] = _action(rule.action)
    for name in ("target", "assigner", "assignee"):
        ref = getattr(rule, name)
        if ref is not None:
            out[name] = _ref(ref)
    for name, party in sorted(rule.parties.items()):
        out[name] = _ref(party)
    if rule.constraints:
        out["constraint"] = [_constraint(c) for c in rule.constraints]
    if isinstance(rule, Permission) and rule.duties:
        out["duty"] = [_rule(d) for d in rule.duties]
    if isinstance(rule, Prohibition) and rule.remedies:
        out["remedy"] = [_rule(d) for d in rule.remedies]
    if isinstance(rule, Duty) and rule.consequences:
        out["consequence"] = [_rule(d) for d in rule.consequences]
    out.update(rule.extras)
    return out


def _one_or_many(values: tuple[str, ...]) -> Any:
    return values[0] if len(values) == 1 else list(values)


def to_dsp(policy: Policy, *, context: bool = True) -> dict[str, Any]:
    """The policy as a DSP 2025-1 JSON object (with the DSP ``@context`` unless embedded)."""
    out: dict[str, Any] = {}
    if context:
        out["@context"] = [DSPACE_CONTEXT]
    out["@id"] = policy.uid
    out["@type"] = str(policy.type)
    if policy.profiles:
        out["profile"] = _one_or_many(policy.profiles)
    if policy.conflict is not None:
        out["conflict"] = str(policy.conflict)
    if policy.inherit_from:
        out["inheritFrom"] = _one_or_many(policy.inherit_from)
    for name in ("target", "assigner", "assignee"):
        ref = getattr(policy, name)
        if ref is not None:
            out[name] = _ref(ref)
    if policy.timestamp:
        out["timestamp"] = policy.timestamp
    if policy.action is not None:
        out["action"] = _action(policy.action)
    if policy.constraints:
        out["constraint"] = [_constraint(c) for c in policy.constraints]
    for name, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        if rules:
            out[name] = [_rule(r) for r in rules]
    out.update(policy.extras)
    return out


def fingerprint(policy: Policy) -> str:
    """A content hash of the policy (SHA-256 of its canonical DSP JSON)."""
    text = json.dumps(to_dsp(policy, context=False), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
