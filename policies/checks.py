"""Constraints compiled to closures over the request context (used by the compiler).

A simple constraint becomes one or more *probes*: ``(get, pred, negate)`` with
``get`` reading the context (an ``attrgetter``) and ``pred`` testing the value
(a ``partial`` over an ``operator`` function, or a bound set method). Both are
C-level callables, so a rule can check all its probes in one loop with no
Python frame per constraint. What does not fit a probe (logical constraints,
claims, events, versions, units) becomes a closure over the reference
semantics of :mod:`policies.operands`. Results are three-valued like there.
"""

from __future__ import annotations

import operator as op_module
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from operator import attrgetter, methodcaller
from typing import Any

from policies.context import OPERAND_ATTRS, RequestContext
from policies.model import Asset, Constraint, ConstraintNode, Party
from policies.operands import compare, convert_right, effective_kind, left_value, member_of
from policies.profile import Terms
from policies.values import DayWindow, Duration
from policies.vocabulary import Kind, LogicalOperator, OperandSpec, Operator

__all__ = [
    "Check",
    "Probe",
    "Tri",
    "all_of",
    "compile_constraint",
    "compile_node",
    "probe_check",
    "ref_check",
]

Tri = bool | None
Check = Callable[[RequestContext], Tri]


# A probe is (get, pred, negate): it holds when ``pred(get(ctx)) is not negate`` and is
# undetermined when ``get`` returns None. ``get`` and ``pred`` are C-level callables
# (attrgetter, partial over operator functions, bound set methods), so a rule checks
# its constraints in one loop without a Python frame per constraint.
Probe = tuple[Callable[[RequestContext], Any], Callable[[Any], bool], bool]

_FLIPPED = {  # pred(v) = op(right, v) must mean "v <op> right"
    Operator.EQ: op_module.eq,
    Operator.NEQ: op_module.ne,
    Operator.LT: op_module.gt,
    Operator.LTEQ: op_module.ge,
    Operator.GT: op_module.lt,
    Operator.GTEQ: op_module.le,
}
_SETS = (Operator.EQ, Operator.NEQ, Operator.IS_ANY_OF, Operator.IS_NONE_OF)
_POSITIVE = (Operator.EQ, Operator.IS_ANY_OF)


def _getter(spec_key: str) -> Callable[[RequestContext], Any]:
    attr = OPERAND_ATTRS.get(spec_key)
    if attr is not None:
        return attrgetter(attr)

    def extra(ctx: RequestContext) -> Any:
        return ctx.extra.get(spec_key) if ctx.extra else None

    return extra


def _probes(c: Constraint, spec: OperandSpec, kind: Kind, right: Any) -> tuple[Probe, ...] | None:
    """The constraint as probes, or None when it needs the general semantics."""
    op = c.operator
    rights = right if isinstance(right, tuple) else (right,)
    if c.unit and spec.term == "payAmount":
        return None  # the unit check has its own order of undetermined/false
    if spec.kind is Kind.CREDENTIALS:
        held: Callable[[RequestContext], Any] = attrgetter("credentials")
        if op in _SETS and len(rights) == 1:
            return ((held, methodcaller("__contains__", rights[0]), op not in _POSITIVE),)
        if op in _SETS:
            return ((held, frozenset(rights).isdisjoint, op in _POSITIVE),)
        return ((held, frozenset(rights).issubset, False),)  # isAllOf, hasPart
    if spec.kind is Kind.CLAIM:
        return None
    get = _getter(spec.context_key)
    if kind in (Kind.TEXT, Kind.IRI) and op in _SETS:
        return ((get, frozenset(rights).__contains__, op not in _POSITIVE),)
    if kind is Kind.DURATION and isinstance(right, Duration) and right.months == 0:
        right = timedelta(microseconds=int(right.seconds * 1_000_000))
    if isinstance(right, DayWindow):
        start, end = right.start, right.end
        day = {
            Operator.LT: ((get, partial(op_module.gt, start), False),),
            Operator.LTEQ: ((get, partial(op_module.gt, end), False),),
            Operator.GT: ((get, partial(op_module.le, end), False),),
            Operator.GTEQ: ((get, partial(op_module.le, start), False),),
            Operator.EQ: (
                (get, partial(op_module.le, start), False),
                (get, partial(op_module.gt, end), False),
            ),
        }
        return day.get(op)
    ordered = (Kind.DATETIME, Kind.COUNT, Kind.DECIMAL, Kind.DURATION)
    if (
        op in _FLIPPED
        and kind in ordered
        and isinstance(right, datetime | int | Decimal | timedelta)
    ):
        return ((get, partial(_FLIPPED[op], right), False),)
    return None


def probe_check(probes: tuple[Probe, ...]) -> Check:
    """A check that holds when every probe holds (three-valued)."""

    def check(ctx: RequestContext) -> Tri:
        unknown = False
        for get, pred, negate in probes:
            value = get(ctx)
            if value is None:
                unknown = True
            elif pred(value) is negate:
                return False
        return None if unknown else True

    return check


def _with_unit(check: Check, unit: str) -> Check:
    def unit_check(ctx: RequestContext) -> Tri:
        if ctx.pay_amount is None:
            return None
        paid_in = ctx.pay_unit
        if paid_in is None:
            return None
        if paid_in != unit:
            return False
        return check(ctx)

    return unit_check


def compile_constraint(c: Constraint, terms: Terms) -> tuple[tuple[Probe, ...] | None, Check]:
    """Probes for the constraint if it has them, and a check for it either way."""
    spec = terms.spec(c.left_operand)
    kind = effective_kind(spec, c)
    right = convert_right(spec, c)
    probes = _probes(c, spec, kind, right)
    if probes is not None:
        return probes, probe_check(probes)
    check: Check = partial(_generic, kind, c.operator, spec, right)
    if c.unit and spec.term == "payAmount":
        check = _with_unit(check, c.unit)
    return None, check


def _atomic(c: Constraint, terms: Terms) -> Check:
    return compile_constraint(c, terms)[1]


def _generic(kind: Kind, op: Operator, spec: Any, right: Any, ctx: RequestContext) -> Tri:
    return compare(kind, op, left_value(spec, ctx), right, ctx)


def all_of(checks: tuple[Check, ...]) -> Check:
    """Three-valued conjunction of ``checks``."""
    if len(checks) == 1:
        return checks[0]
    return _short_circuit(checks, False)


def _any(checks: tuple[Check, ...]) -> Check:
    return _short_circuit(checks, True)


def _short_circuit(checks: tuple[Check, ...], decisive: bool) -> Check:
    """``decisive`` as soon as a check says so; else unknown if one was, else the other."""

    def combined(ctx: RequestContext) -> Tri:
        unknown = False
        for check in checks:
            result = check(ctx)
            if result is decisive:
                return decisive
            if result is None:
                unknown = True
        return None if unknown else not decisive

    return combined


def _xone(checks: tuple[Check, ...]) -> Check:
    def xone_check(ctx: RequestContext) -> Tri:
        results = [check(ctx) for check in checks]
        trues = results.count(True)
        if trues > 1:
            return False
        if None in results:
            return None
        return trues == 1

    return xone_check


def compile_node(node: ConstraintNode, terms: Terms) -> Check:
    """A check for an atomic or logical constraint."""
    if isinstance(node, Constraint):
        return _atomic(node, terms)
    checks = tuple(compile_node(n, terms) for n in node.operands)
    if node.operator is LogicalOperator.OR:
        return _any(checks)
    if node.operator is LogicalOperator.XONE:
        return _xone(checks)
    return all_of(checks)


def ref_check(ref: Asset | Party, role: str, terms: Terms) -> Check:
    """Whether the context's ``role`` (target or assignee) is ``ref`` or in it, and refined."""
    get = attrgetter(role)
    reference = ref.reference
    refine = (
        all_of(tuple(compile_node(n, terms) for n in ref.refinements)) if ref.refinements else None
    )

    def check(ctx: RequestContext) -> Tri:
        value = get(ctx)
        if value is None:
            return None
        if reference is not None and value != reference and not member_of(ctx, value, reference):
            return False
        return refine(ctx) if refine is not None else True

    return check
