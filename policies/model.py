"""The ODRL 2.2 information model as immutable pydantic models.

A :class:`Policy` is what :func:`policies.parse_policy` returns. Terms are kept
compact (``read``, ``dateTime``, ``dst:credentialType``), right operands keep
their lexical form and datatype (:class:`Value`), so serialising gives back
the DSP form. Every rule, constraint and action keeps the JSON pointer
(``path``) of where it was read, which reasons and duty ids refer to.

Nothing here evaluates anything: the interpreter (:mod:`policies.evaluate`)
walks these models, and the compiler (:mod:`policies.compile`) turns them into
closures once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from policies.vocabulary import ConflictStrategy, LogicalOperator, Operator, PolicyType

__all__ = [
    "Action",
    "Asset",
    "Constraint",
    "ConstraintNode",
    "Duty",
    "LogicalConstraint",
    "Party",
    "Permission",
    "Policy",
    "Prohibition",
    "Rule",
    "Value",
    "all_duties",
    "atoms",
    "rule_nodes",
    "rule_refs",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Value(_Model):
    """A right-operand value: its lexical form and datatype, or an IRI."""

    value: str
    datatype: str | None = None
    """Compact XML Schema datatype (``xsd:integer``); ``None`` for plain strings and IRIs."""
    iri: bool = False
    """Written as ``{"@id": ...}``."""

    def __str__(self) -> str:
        return self.value


class Constraint(_Model):
    """An atomic constraint: ``leftOperand operator rightOperand``."""

    left_operand: str
    operator: Operator
    right_operand: Value | tuple[Value, ...]
    unit: str | None = None
    datatype: str | None = None
    """``odrl:dataType`` given beside an untyped right operand."""
    uid: str | None = None
    path: str = ""

    def right_text(self) -> str:
        """The right operand as text, e.g. ``2025-01-01`` or ``[a, b]``."""
        if isinstance(self.right_operand, tuple):
            return "[" + ", ".join(v.value for v in self.right_operand) + "]"
        return self.right_operand.value

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.left_operand} {self.operator} {self.right_text()}{unit}"


class LogicalConstraint(_Model):
    """``and``, ``or``, ``xone`` or ``andSequence`` over constraints."""

    operator: LogicalOperator
    operands: tuple[ConstraintNode, ...]
    uid: str | None = None
    path: str = ""

    def __str__(self) -> str:
        return f"{self.operator}(" + ", ".join(str(c) for c in self.operands) + ")"


ConstraintNode = Constraint | LogicalConstraint


class Action(_Model):
    """An action, optionally refined (``print`` with ``percentage lteq 50``)."""

    name: str
    refinements: tuple[ConstraintNode, ...] = ()
    path: str = ""


class _Reference(_Model):
    """Something a rule names: one thing by IRI, or a collection (whose members match too)."""

    uid: str | None = None
    collection: bool = False
    source: str | None = None
    refinements: tuple[ConstraintNode, ...] = ()

    @property
    def reference(self) -> str | None:
        """The identifier membership is checked against (``source`` when refined)."""
        return self.source or self.uid


class Asset(_Reference):
    """A target asset, or an asset collection (whose members match too)."""


class Party(_Reference):
    """An assigner or assignee, or a party collection (whose members match too)."""


class _Rule(_Model):
    """What every rule has: an action over an asset, between parties, under constraints."""

    uid: str | None = None
    action: Action | None = None
    target: Asset | None = None
    assigner: Party | None = None
    assignee: Party | None = None
    constraints: tuple[ConstraintNode, ...] = ()
    parties: dict[str, Party] = {}
    """Party functions such as ``attributedParty`` or ``informedParty``."""
    extras: dict[str, Any] = {}
    path: str = ""

    @property
    def key(self) -> str:
        """The rule's ``@id``, else its JSON pointer (how request contexts name a duty)."""
        return self.uid or self.path


class Duty(_Rule):
    """A duty of a permission, a policy obligation, or a consequence/remedy."""

    consequences: tuple[Duty, ...] = ()


class Permission(_Rule):
    """The ability to perform an action over an asset, possibly with duties."""

    duties: tuple[Duty, ...] = ()


class Prohibition(_Rule):
    """The inability to perform an action over an asset."""

    remedies: tuple[Duty, ...] = ()


class Policy(_Model):
    """An ODRL Set, Offer or Agreement.

    Policy-level ``target``, ``assigner``, ``assignee``, ``action`` and
    ``constraints`` apply to every rule that does not state its own (ODRL's
    compact policy form); :func:`policies.normalize.normalize` spells that out.
    """

    uid: str
    type: PolicyType
    profiles: tuple[str, ...] = ()
    conflict: ConflictStrategy | None = None
    """As written; ``None`` means ODRL's default, ``invalid``."""
    inherit_from: tuple[str, ...] = ()
    target: Asset | None = None
    assigner: Party | None = None
    assignee: Party | None = None
    action: Action | None = None
    constraints: tuple[ConstraintNode, ...] = ()
    permissions: tuple[Permission, ...] = ()
    prohibitions: tuple[Prohibition, ...] = ()
    obligations: tuple[Duty, ...] = ()
    timestamp: str | None = None
    """DSP ``timestamp`` of an Agreement."""
    extras: dict[str, Any] = {}
    """Properties of other vocabularies (``dct:license``), kept verbatim."""

    @property
    def conflict_strategy(self) -> ConflictStrategy:
        """The effective strategy: as stated, else ``invalid``."""
        return self.conflict or ConflictStrategy.INVALID


LogicalConstraint.model_rebuild()
Duty.model_rebuild()

Rule = Permission | Prohibition | Duty


def atoms(nodes: Iterable[ConstraintNode]) -> Iterator[Constraint]:
    """Every atomic constraint under ``nodes``, depth first."""
    for node in nodes:
        if isinstance(node, LogicalConstraint):
            yield from atoms(node.operands)
        else:
            yield node


def rule_refs(rule: Rule) -> list[Asset | Party]:
    """The assets and parties a rule names (target, assigner, assignee, party functions)."""
    refs = [rule.target, rule.assigner, rule.assignee, *rule.parties.values()]
    return [r for r in refs if r is not None]


def rule_nodes(rule: Rule) -> list[ConstraintNode]:
    """A rule's constraints, its action's refinements and its collections' refinements."""
    nodes = list(rule.constraints)
    if rule.action is not None:
        nodes.extend(rule.action.refinements)
    for ref in rule_refs(rule):
        nodes.extend(ref.refinements)
    return nodes


def all_duties(policy: Policy, *, remedies: bool = True) -> list[Duty]:
    """Obligations, permission duties (and prohibition remedies), with their consequences."""

    def walk(duties: Iterable[Duty]) -> Iterator[Duty]:
        for duty in duties:
            yield duty
            yield from walk(duty.consequences)

    found = list(walk(policy.obligations))
    for permission in policy.permissions:
        found.extend(walk(permission.duties))
    if remedies:
        for prohibition in policy.prohibitions:
            found.extend(walk(prohibition.remedies))
    return found
