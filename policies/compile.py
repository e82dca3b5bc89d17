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
from operator import attrgetter
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
from policies.vocabulary import ConflictStrategy, Kind, LogicalOperator, Operator, ancestors

__all__ = ["CompiledPolicy", "compile_policy"]

Tri = bool | None
Check = Callable[[RequestContext], Tri]

_CMP = {
    Operator.EQ: op_module.eq,
    Operator.NEQ: op_module.ne,
    Operator.LT: op_module.lt,
    Operator.LTEQ: op_module.le,
    Operator.GT: op_module.gt,
    Operator.GTEQ: op_module.ge,
}
_VIOLATED = DutyState.VIOLATED


# -- constraints ---------------------------------------------------------------------


def _compare_check(get: Callable[[RequestContext], Any], cmp: Callable[[Any, Any], bool],
                   right: Any) -> Check:  # fmt: skip
    def check(ctx: RequestContext) -> Tri:
        value = get(ctx)
        if value is None:
            return None
        return cmp(value, right)

    return check


def _day_check(get: Callable[[RequestContext], Any], op: Operator, day: DayWindow) -> Check:
    start, end = day.start, day.end
    if op in (Operator.EQ, Operator.NEQ, Operator.IS_ANY_OF, Operator.IS_NONE_OF):
        inside_wanted = op in (Operator.EQ, Operator.IS_ANY_OF)

        def check(ctx: RequestContext) -> Tri:
            value = get(ctx)
            if value is None:
                return None
            return (start <= value < end) is inside_wanted

        return check
    bound = {Operator.LT: start, Operator.LTEQ: end, Operator.GT: end, Operator.GTEQ: start}[op]
    cmp = op_module.lt if op in (Operator.LT, Operator.LTEQ) else op_module.ge
    return _compare_check(get, cmp, bound)


def _membership_check(get: Callable[[RequestContext], Any], rights: frozenset[Any],
                      wanted: bool) -> Check:  # fmt: skip
    def check(ctx: RequestContext) -> Tri:
        value = get(ctx)
        if value is None:
            return None
        if type(value) is frozenset:
            return value.isdisjoint(rights) is not wanted
        return (value in rights) is wanted

    return check


def _credential_check(op: Operator, rights: tuple[str, ...]) -> Check:
    if op in (Operator.EQ, Operator.IS_ANY_OF, Operator.NEQ, Operator.IS_NONE_OF):
        wanted = op in (Operator.EQ, Operator.IS_ANY_OF)

        def any_check(ctx: RequestContext) -> Tri:
            held = ctx.credentials
            if held is None:
                return None
            for r in rights:
                if r in held:
                    return wanted
            return not wanted

        return any_check

    def all_check(ctx: RequestContext) -> Tri:  # isAllOf / hasPart
        held = ctx.credentials
        if held is None:
            return None
        return all(r in held for r in rights)

    return all_check


def _getter(spec_key: str) -> Callable[[RequestContext], Any]:
    attr = OPERAND_ATTRS.get(spec_key)
    if attr is not None:
        return attrgetter(attr)

    def extra(ctx: RequestContext) -> Any:
        return ctx.extra.get(spec_key) if ctx.extra else None

    return extra


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


def _atomic(c: Constraint, terms: Terms) -> Check:
    spec = terms.spec(c.left_operand)
    kind = effective_kind(spec, c)
    right = convert_right(spec, c)
    op = c.operator
    check: Check | None = None
    if spec.kind is Kind.CREDENTIALS:
        check = _credential_check(op, right if isinstance(right, tuple) else (right,))
    elif spec.kind is not Kind.CLAIM:
        get = _getter(spec.context_key)
        if kind is Kind.DURATION and isinstance(right, Duration) and right.months == 0:
            right = timedelta(microseconds=int(right.seconds * 1_000_000))
        if isinstance(right, DayWindow):
            check = _day_check(get, op, right)
        elif op in _CMP and kind in (Kind.DATETIME, Kind.COUNT, Kind.DECIMAL, Kind.DURATION):
            if isinstance(right, datetime | int | Decimal | timedelta):
                check = _compare_check(get, _CMP[op], right)
        elif kind in (Kind.TEXT, Kind.IRI) and op in (Operator.EQ, Operator.NEQ):
            check = _membership_check(get, frozenset((right,)), op is Operator.EQ)
        elif kind in (Kind.TEXT, Kind.IRI) and op in (Operator.IS_ANY_OF, Operator.IS_NONE_OF):
            rights = right if isinstance(right, tuple) else (right,)
            check = _membership_check(get, frozenset(rights), op is Operator.IS_ANY_OF)
    if check is None:  # the rarer cases use the reference semantics directly
        check = partial(_generic, kind, op, spec, right)
    if c.unit and spec.term == "payAmount":
        check = _with_unit(check, c.unit)
    return check


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


class _Rule:
    """A compiled permission or prohibition."""

    __slots__ = ("actions", "applies", "duties", "key", "permit", "static_duties")

    def __init__(self, rule: Permission | Prohibition, terms: Terms, obligations: tuple[
            tuple[Duty, DutyDirective, Check | None], ...], policy_id: str) -> None:  # fmt: skip
        self.key = rule.key
        name = rule.action.name if rule.action else ""
        self.actions = frozenset(
            a for a in terms.action_parents if name and ancestors(name)[0] in ancestors(
                a, terms.action_parents)
        )  # fmt: skip
        checks: list[Check] = []
        if rule.target is not None:
            checks.append(_ref_check(rule.target, "target", terms))
        if rule.assignee is not None:
            checks.append(_ref_check(rule.assignee, "assignee", terms))
        refinements = rule.action.refinements if rule.action else ()
        checks.extend(_node(n, terms) for n in (*refinements, *rule.constraints))
        self.applies = _all(tuple(checks)) if checks else _always
        self.duties: tuple[tuple[Duty, DutyDirective, Check | None], ...] = ()
        self.permit: Decision | None = None
        self.static_duties = True
        if isinstance(rule, Permission):
            self.duties = tuple(_compile_duty(d, DutyOrigin.DUTY, rule.key, terms)
                                for d in rule.duties)  # fmt: skip
            pending = self.duties + obligations
            self.static_duties = all(check is None for _, _, check in pending)
            if self.static_duties:
                self.permit = Decision(
                    permitted=True,
                    basis=Basis.PERMITTED,
                    policy_id=policy_id,
                    decided_by=(rule.key,),
                    duties=tuple(d for _, d, _ in pending),
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


def _compile_duty(
    duty: Duty, origin: DutyOrigin, rule: str | None, terms: Terms
) -> tuple[Duty, DutyDirective, Check | None]:
    nodes = applicability(duty)
    check = _all(tuple(_node(n, terms) for n in nodes)) if nodes else None
    return duty, directive(duty, origin, rule), check


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
    obligations = tuple(
        _compile_duty(d, DutyOrigin.OBLIGATION, None, terms) for d in spelled.obligations
    )
    perms = tuple(_Rule(p, terms, obligations, uid) for p in spelled.permissions)
    prohibs = tuple(_Rule(p, terms, obligations, uid) for p in spelled.prohibitions)
    strategy = spelled.conflict_strategy
    consequences_possible = any(d.consequences for r in perms for d, _, _ in r.duties) or any(
        d.consequences for d, _, _ in obligations
    )
    compiled: CompiledPolicy

    def lazy(ctx: RequestContext) -> Callable[[], tuple[Reason, ...]]:
        return lambda: compiled.explain(ctx).reasons

    def pending(
        duties: tuple[tuple[Duty, DutyDirective, Check | None], ...], ctx: RequestContext
    ) -> list[DutyDirective]:
        states = ctx.duties or {}
        return [
            d
            for duty, d, check in duties
            if states.get(duty.key, DutyState.NOT_SET) is DutyState.NOT_SET
            and (check is None or check(ctx) is not False)
        ]

    def consequences_of(duty: Duty, ctx: RequestContext) -> list[DutyDirective]:
        return pending(
            tuple(_compile_duty(c, DutyOrigin.CONSEQUENCE, duty.key, terms)
                  for c in duty.consequences),
            ctx,
        )  # fmt: skip

    def decide(ctx: RequestContext) -> Decision:
        action = ctx.action
        states = ctx.duties
        granting: _Rule | None = None
        consequences: list[DutyDirective] = []
        for rule in perms:
            if action not in rule.actions or rule.applies(ctx) is not True:
                continue
            if states and rule.duties:
                violated = [d for d, _, _ in rule.duties if states.get(d.key) is _VIOLATED]
                if violated:
                    if consequences_possible:
                        for duty in violated:
                            consequences.extend(consequences_of(duty, ctx))
                    continue
            if granting is None:
                granting = rule
                if not (states and consequences_possible):
                    break
        prohibiting: tuple[str, ...] = ()
        if prohibs:
            prohibiting = tuple(
                r.key for r in prohibs if action in r.actions and r.applies(ctx) is not False
            )
        if states and consequences_possible:
            for duty, _, _ in obligations:
                if states.get(duty.key) is _VIOLATED:
                    consequences.extend(consequences_of(duty, ctx))
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
                    *consequences,
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
            duties=tuple(consequences),
            explain=lazy(ctx),
        )

    compiled = CompiledPolicy(spelled, decide, plan(spelled, terms), terms)
    return compiled
