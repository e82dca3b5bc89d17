"""The compiler: a policy becomes plain Python closures, once.

:func:`compile_policy` spells the policy out (:mod:`policies.normalize`),
converts every right operand to its Python value, precomputes the set of
requested actions each rule covers (the ``includedIn`` closure), specialises
each constraint into a small closure over the slotted
:class:`~policies.context.RequestContext`, and prebuilds the permit decision of
each permission. ``decide(ctx)`` then only calls closures: no pydantic, no
parsing, no string building (a deny explains itself lazily, through the
interpreter, when its ``reasons`` are read).

The semantics are those of :mod:`policies.evaluate`; the tests check both
agree on every corpus case and on random policies.
"""

from __future__ import annotations

import operator as op_module
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from operator import attrgetter, methodcaller
from typing import Any

from policies.context import OPERAND_ATTRS, DutyState, RequestContext
from policies.decision import Basis, Decision, DutyDirective, DutyOrigin, Reason
from policies.duties import applicability, directive
from policies.evaluate import evaluate
from policies.model import (
    Asset,
    Constraint,
    ConstraintNode,
    Duty,
    Party,
    Permission,
    Policy,
    Prohibition,
)
from policies.normalize import normalize
from policies.operands import compare, convert_right, effective_kind, left_value, member_of
from policies.plan import Plan, plan
from policies.profile import DEFAULT_TERMS, Terms
from policies.values import DayWindow, Duration
from policies.vocabulary import (
    ConflictStrategy,
    Kind,
    LogicalOperator,
    OperandSpec,
    Operator,
    ancestors,
    canonical_action,
)

__all__ = ["CompiledPolicy", "compile_policy"]

Tri = bool | None
Check = Callable[[RequestContext], Tri]

_VIOLATED = DutyState.VIOLATED


# -- constraints ---------------------------------------------------------------------


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


def _probe_check(probes: tuple[Probe, ...]) -> Check:
    def probe_check(ctx: RequestContext) -> Tri:
        unknown = False
        for get, pred, negate in probes:
            value = get(ctx)
            if value is None:
                unknown = True
            elif pred(value) is negate:
                return False
        return None if unknown else True

    return probe_check


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


def _compiled(c: Constraint, terms: Terms) -> tuple[tuple[Probe, ...] | None, Check]:
    """Probes for the constraint if it has them, and a check for it either way."""
    spec = terms.spec(c.left_operand)
    kind = effective_kind(spec, c)
    right = convert_right(spec, c)
    probes = _probes(c, spec, kind, right)
    if probes is not None:
        return probes, _probe_check(probes)
    check: Check = partial(_generic, kind, c.operator, spec, right)
    if c.unit and spec.term == "payAmount":
        check = _with_unit(check, c.unit)
    return None, check


def _atomic(c: Constraint, terms: Terms) -> Check:
    return _compiled(c, terms)[1]


def _generic(kind: Kind, op: Operator, spec: Any, right: Any, ctx: RequestContext) -> Tri:
    return compare(kind, op, left_value(spec, ctx), right, ctx)


def _all(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def all_check(ctx: RequestContext) -> Tri:
        unknown = False
        for check in checks:
            result = check(ctx)
            if result is False:
                return False
            if result is None:
                unknown = True
        return None if unknown else True

    return all_check


def _any(checks: tuple[Check, ...]) -> Check:
    def any_check(ctx: RequestContext) -> Tri:
        unknown = False
        for check in checks:
            result = check(ctx)
            if result is True:
                return True
            if result is None:
                unknown = True
        return None if unknown else False

    return any_check


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


def _node(node: ConstraintNode, terms: Terms) -> Check:
    if isinstance(node, Constraint):
        return _atomic(node, terms)
    checks = tuple(_node(n, terms) for n in node.operands)
    if node.operator is LogicalOperator.OR:
        return _any(checks)
    if node.operator is LogicalOperator.XONE:
        return _xone(checks)
    return _all(checks)


def _ref_check(ref: Asset | Party, role: str, terms: Terms) -> Check:
    get = attrgetter(role)
    reference = ref.reference
    refine = _all(tuple(_node(n, terms) for n in ref.refinements)) if ref.refinements else None

    def ref_check(ctx: RequestContext) -> Tri:
        value = get(ctx)
        if value is None:
            return None
        if reference is not None and value != reference and not member_of(ctx, value, reference):
            return False
        return refine(ctx) if refine is not None else True

    return ref_check


# -- rules ---------------------------------------------------------------------------


class _Duty:
    """A compiled duty: its key, directive, in-effect check and compiled consequences."""

    __slots__ = ("check", "consequences", "directive", "key")

    def __init__(self, duty: Duty, origin: DutyOrigin, rule: str | None, terms: Terms) -> None:
        self.key = duty.key
        self.directive = directive(duty, origin, rule)
        nodes = applicability(duty)
        self.check = _all(tuple(_node(n, terms) for n in nodes)) if nodes else None
        self.consequences = tuple(
            _Duty(c, DutyOrigin.CONSEQUENCE, duty.key, terms) for c in duty.consequences
        )


_Duties = tuple[_Duty, ...]


def _plain_reference(ref: Asset | Party | None) -> str | None:
    """The IRI a ref matches by identity or membership, when it needs nothing else."""
    if ref is None or ref.refinements or ref.reference is None:
        return None
    return ref.reference


def _applies(rule: Permission | Prohibition, terms: Terms) -> Check:
    """One closure deciding whether ``rule`` applies: its parties, asset and constraints."""
    target, assignee = _plain_reference(rule.target), _plain_reference(rule.assignee)
    slow: list[Check] = []
    for role, ref, plain in (
        ("target", rule.target, target),
        ("assignee", rule.assignee, assignee),
    ):
        if ref is not None and plain is None:
            slow.append(_ref_check(ref, role, terms))
    probes: list[Probe] = []
    refinements = rule.action.refinements if rule.action else ()
    for node in (*refinements, *rule.constraints):
        if isinstance(node, Constraint):
            found, check = _compiled(node, terms)
            if found is not None:
                probes.extend(found)
                continue
            slow.append(check)
        else:
            slow.append(_node(node, terms))
    fast, rest = tuple(probes), tuple(slow)

    def applies(ctx: RequestContext) -> Tri:
        unknown = False
        if target is not None:
            value = ctx.target
            if value is None:
                unknown = True
            elif value != target and not member_of(ctx, value, target):
                return False
        if assignee is not None:
            value = ctx.assignee
            if value is None:
                unknown = True
            elif value != assignee and not member_of(ctx, value, assignee):
                return False
        for get, pred, negate in fast:
            value = get(ctx)
            if value is None:
                unknown = True
            elif pred(value) is negate:
                return False
        for check in rest:
            result = check(ctx)
            if result is False:
                return False
            if result is None:
                unknown = True
        return None if unknown else True

    return applies


class _Rule:
    """A compiled permission or prohibition."""

    __slots__ = ("actions", "applies", "duties", "key", "permit")

    def __init__(self, rule: Permission | Prohibition, terms: Terms, obligations: _Duties,
                 policy_id: str) -> None:  # fmt: skip
        self.key = rule.key
        name = canonical_action(rule.action.name) if rule.action else None
        # every requested action this rule covers: its own and all included in it
        self.actions = frozenset(
            a for a in terms.action_parents if name in ancestors(a, terms.action_parents)
        )
        self.applies = _applies(rule, terms)
        self.duties: _Duties = ()
        self.permit: Decision | None = None
        if isinstance(rule, Permission):
            self.duties = tuple(_Duty(d, DutyOrigin.DUTY, rule.key, terms) for d in rule.duties)
            pending = self.duties + obligations
            if all(d.check is None for d in pending):
                # nothing request-specific: the permit decision is built once
                self.permit = Decision(
                    permitted=True,
                    basis=Basis.PERMITTED,
                    policy_id=policy_id,
                    decided_by=(rule.key,),
                    duties=tuple(d.directive for d in pending),
                    reasons=(
                        Reason(
                            Basis.PERMITTED.value,
                            f"permission {rule.key} allows the request",
                            rule.key,
                        ),
                    ),
                )


def _always(ctx: RequestContext) -> Tri:
    return True


# -- the compiled policy ------------------------------------------------------------


class CompiledPolicy:
    """A policy compiled to closures, with what enforcers need to plan.

    ``decide(ctx)`` is the hot path; ``explain(ctx)`` gives the full explanation
    (the interpreter's decision with every reason). ``plan`` describes which
    context fields the policy reads, its count limit, time window and the
    credentials and purposes it asks for.
    """

    __slots__ = ("_parents", "_terms", "decide", "plan", "policy", "uid")

    def __init__(self, policy: Policy, decide: Callable[[RequestContext], Decision],
                 plan: Plan, terms: Terms) -> None:  # fmt: skip
        self.policy = policy
        """The spelled-out policy (policy-level properties pushed into rules)."""
        self.uid = policy.uid
        self.decide = decide
        self.plan = plan
        self._terms = terms

    def explain(self, ctx: RequestContext) -> Decision:
        """The interpreter's decision for ``ctx``, with every reason."""
        return evaluate(self.policy, ctx, terms=self._terms)

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.uid!r})"


def compile_policy(
    policy: Policy,
    *,
    parents: Mapping[str, Policy] | None = None,
    terms: Terms = DEFAULT_TERMS,
) -> CompiledPolicy:
    """Compile a parsed policy (resolving ``inheritFrom`` from ``parents``)."""
    spelled = normalize(policy, parents)
    uid = spelled.uid
    obligations = tuple(_Duty(d, DutyOrigin.OBLIGATION, None, terms) for d in spelled.obligations)
    perms = tuple(_Rule(p, terms, obligations, uid) for p in spelled.permissions)
    prohibs = tuple(_Rule(p, terms, obligations, uid) for p in spelled.prohibitions)
    strategy = spelled.conflict_strategy
    consequences_possible = any(d.consequences for r in perms for d in r.duties) or any(
        d.consequences for d in obligations
    )
    entries = tuple((rule.actions, rule.applies, rule) for rule in perms)
    compiled: CompiledPolicy

    def lazy(ctx: RequestContext) -> Callable[[], tuple[Reason, ...]]:
        return lambda: compiled.explain(ctx).reasons

    def pending(duties: _Duties, ctx: RequestContext) -> list[DutyDirective]:
        states = ctx.duties or {}
        return [
            d.directive
            for d in duties
            if states.get(d.key, DutyState.NOT_SET) is DutyState.NOT_SET
            and (d.check is None or d.check(ctx) is not False)
        ]

    def due(violated: list[_Duty], ctx: RequestContext) -> list[DutyDirective]:
        return [d for duty in violated for d in pending(duty.consequences, ctx)]

    def decide(ctx: RequestContext) -> Decision:
        action = ctx.action
        states = ctx.duties
        granting: _Rule | None = None
        violated: list[_Duty] = []
        for actions, applies, rule in entries:
            if action not in actions or applies(ctx) is not True:
                continue
            if states and rule.duties:
                broken = [d for d in rule.duties if states.get(d.key) is _VIOLATED]
                if broken:
                    violated.extend(broken)
                    continue
            if granting is None:
                granting = rule
                if not (states and consequences_possible):
                    break  # nothing later can add consequences
        prohibiting: tuple[str, ...] = ()
        if prohibs:
            prohibiting = tuple(
                r.key for r in prohibs if action in r.actions and r.applies(ctx) is not False
            )
        if states and consequences_possible:
            violated.extend(d for d in obligations if states.get(d.key) is _VIOLATED)
        if granting is not None and (not prohibiting or strategy is ConflictStrategy.PERM):
            if not prohibiting and not states and granting.permit is not None:
                return granting.permit
            return Decision(
                permitted=True,
                basis=Basis.PERMITTED_OVER_PROHIBITION if prohibiting else Basis.PERMITTED,
                policy_id=uid,
                decided_by=(granting.key,),
                duties=(
                    *pending(granting.duties, ctx),
                    *pending(obligations, ctx),
                    *due(violated, ctx),
                ),
                explain=lazy(ctx),
            )
        if granting is not None and strategy is ConflictStrategy.INVALID:
            basis, decided_by = Basis.POLICY_VOID, (granting.key, *prohibiting)
        elif prohibiting:
            basis, decided_by = Basis.PROHIBITED, prohibiting
        else:
            basis, decided_by = Basis.NO_APPLICABLE_PERMISSION, ()
        return Decision(
            permitted=False,
            basis=basis,
            policy_id=uid,
            decided_by=decided_by,
            duties=tuple(due(violated, ctx)) if violated else (),
            explain=lazy(ctx),
        )

    compiled = CompiledPolicy(spelled, decide, plan(spelled, terms), terms)
    return compiled
