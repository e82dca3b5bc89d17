"""The interpreter: evaluates a parsed :class:`~policies.model.Policy` by walking it.

This is the reference evaluation and the explanation engine: it re-reads the
model on every call (typed right operands are converted each time) and builds
every reason eagerly. The compiler must agree with it on every decision.

Rules of evaluation:

* Closed world: a request is permitted only if some permission applies: its
  action includes the requested one (``odrl:includedIn``; ``use`` covers
  ``read``, not ``sell``), its target is the requested asset or a collection
  the asset is ``partOf``, its assignee (if any) is the requester or a party
  collection they belong to, its refinements and constraints are satisfied,
  and none of its duties is ``violated``.
* A prohibition applies on the same terms, except that what the context does
  not tell (no requester, an operand not supplied) counts against the
  requester: the prohibition applies (fail closed).
* When both apply, the conflict strategy decides: ``perm`` permits,
  ``prohibit`` denies, ``invalid`` (ODRL's default) voids the policy: deny.
  Conflicts are detected per request.
* An Offer is evaluated as if it were a Set (useful to check a requester
  against an offer before negotiating); ODRL-wise an Offer grants nothing
  until an Agreement is made, and the decision says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from policies.context import DutyState, RequestContext
from policies.decision import Basis, Decision, DutyDirective, DutyOrigin, Reason
from policies.duties import applicability, directive
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
)
from policies.normalize import normalize
from policies.operands import compare, convert_right, effective_kind, left_value, member_of
from policies.profile import DEFAULT_TERMS, Terms
from policies.values import Duration
from policies.vocabulary import (
    ConflictStrategy,
    LogicalOperator,
    PolicyType,
    ancestors,
    canonical_action,
)

__all__ = ["combine", "evaluate"]

Tri = bool | None


def combine(operator: LogicalOperator, results: Iterable[Tri]) -> Tri:
    """Three-valued ``and``/``andSequence``/``or``/``xone`` (``None`` = undetermined)."""
    values = list(results)
    trues, unknown = values.count(True), values.count(None)
    if operator is LogicalOperator.OR:
        return True if trues else (None if unknown else False)
    if operator is LogicalOperator.XONE:
        if trues > 1:
            return False
        if unknown:
            return None
        return trues == 1
    # and / andSequence: a request is one moment, so the sequence is checked as a conjunction
    if False in values:
        return False
    return None if unknown else True


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(Duration.of(value))
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) + "}"
    return str(value)


class _Interpreter:
    def __init__(self, policy: Policy, ctx: RequestContext, terms: Terms) -> None:
        self.policy = policy
        self.ctx = ctx
        self.terms = terms
        self.states: Mapping[str, DutyState] = ctx.duties or {}

    # -- constraints -----------------------------------------------------------------

    def atomic(self, c: Constraint, rule: str, out: list[Reason]) -> Tri:
        spec = self.terms.spec(c.left_operand)
        left = left_value(spec, self.ctx)
        if left is None:
            out.append(
                Reason(
                    "context-missing",
                    f"{c}: the request context does not supply {spec.context_key}",
                    rule,
                    c.path,
                )
            )
            return None
        if c.unit and spec.term == "payAmount":
            if self.ctx.pay_unit is None:
                out.append(Reason("context-missing", f"{c}: no payUnit given", rule, c.path))
                return None
            if self.ctx.pay_unit != c.unit:
                out.append(
                    Reason(
                        "constraint-unsatisfied",
                        f"{c}: paid in {self.ctx.pay_unit}, not {c.unit}",
                        rule,
                        c.path,
                    )
                )
                return False
        result = compare(
            effective_kind(spec, c), c.operator, left, convert_right(spec, c), self.ctx
        )
        if result is None:
            text, code = f"{c}: undetermined for {_show(left)}", "constraint-undetermined"
        elif result:
            text, code = f"{c}: satisfied by {_show(left)}", "constraint-satisfied"
        else:
            text, code = f"{c}: not satisfied by {_show(left)}", "constraint-unsatisfied"
        out.append(Reason(code, text, rule, c.path))
        return result

    def node(self, node: ConstraintNode, rule: str, out: list[Reason]) -> Tri:
        if isinstance(node, Constraint):
            return self.atomic(node, rule, out)
        inner: list[Reason] = []
        results = [self.node(n, rule, inner) for n in node.operands]
        result = combine(node.operator, results)
        verdict = {True: "satisfied", False: "not satisfied", None: "undetermined"}[result]
        code = {
            True: "constraint-satisfied",
            False: "constraint-unsatisfied",
            None: "constraint-undetermined",
        }[result]
        out.append(
            Reason(
                code,
                f"{node.operator} of {len(results)} constraints: {verdict}",
                rule,
                node.path,
            )
        )
        out.extend(inner)
        return result

    def all_of(self, nodes: Iterable[ConstraintNode], rule: str, out: list[Reason]) -> Tri:
        return combine(LogicalOperator.AND, [self.node(n, rule, out) for n in nodes])

    # -- matching -------------------------------------------------------------------------

    def action(self, action: Action | None) -> bool:
        if action is None:
            return False
        return canonical_action(action.name) in ancestors(
            self.ctx.action, self.terms.action_parents
        )

    def ref(
        self, ref: Asset | Party | None, value: str | None, rule: str, out: list[Reason]
    ) -> Tri:
        if ref is None:
            return True
        if value is None:
            return None
        reference = ref.reference
        member = reference is None or value == reference or member_of(self.ctx, value, reference)
        if not member:
            return False
        return self.all_of(ref.refinements, rule, out) if ref.refinements else True

    def rule(self, rule: Permission | Prohibition, out: list[Reason]) -> Tri:
        """Whether the rule applies to the request (ignoring duties)."""
        key, kind = rule.key, type(rule).__name__.lower()
        name = rule.action.name if rule.action else "?"
        if not self.action(rule.action):
            out.append(
                Reason(
                    "action-not-covered",
                    f"{kind} {key} is for {name}, which does not include {self.ctx.action}",
                    key,
                )
            )
            return False
        results: list[Tri] = []
        for role, ref, value in (
            ("target", rule.target, self.ctx.target),
            ("assignee", rule.assignee, self.ctx.assignee),
        ):
            matched = self.ref(ref, value, key, out)
            if matched is False:
                out.append(
                    Reason(
                        f"{role}-mismatch",
                        f"{kind} {key} is for {role} {ref.uid if ref else '?'}, not {value}",
                        key,
                    )
                )
                return False
            if matched is None:
                out.append(Reason("context-missing", f"the request names no {role}", key))
            results.append(matched)
        refinements = rule.action.refinements if rule.action else ()
        results.append(self.all_of((*refinements, *rule.constraints), key, out))
        return combine(LogicalOperator.AND, results)

    # -- duties ---------------------------------------------------------------------------

    def in_effect(self, duty: Duty, rule: str) -> bool:
        return self.all_of(applicability(duty), rule, []) is not False

    def consequences(self, duty: Duty) -> list[DutyDirective]:
        return [
            directive(c, DutyOrigin.CONSEQUENCE, duty.key)
            for c in duty.consequences
            if self.states.get(c.key, DutyState.NOT_SET) is DutyState.NOT_SET
            and self.in_effect(c, duty.key)
        ]

    def pending(
        self, duties: Iterable[Duty], origin: DutyOrigin, rule: str | None
    ) -> list[DutyDirective]:
        return [
            directive(d, origin, rule)
            for d in duties
            if self.states.get(d.key, DutyState.NOT_SET) is DutyState.NOT_SET
            and self.in_effect(d, rule or d.key)
        ]

    # -- the decision ---------------------------------------------------------------------

    def run(self) -> Decision:
        policy = self.policy
        details: list[Reason] = []
        consequences: list[DutyDirective] = []
        granting, grant_reasons = self.grant(details, consequences)
        prohibiting = self.prohibitions(details)
        for obligation in policy.obligations:
            if self.states.get(obligation.key) is DutyState.VIOLATED:
                consequences.extend(self.consequences(obligation))
        permitted = granting is not None and (
            not prohibiting or policy.conflict_strategy is ConflictStrategy.PERM
        )
        if permitted and granting is not None:
            basis, summary, decided_by = self.permitted(granting, prohibiting)
            duties = (
                self.pending(granting.duties, DutyOrigin.DUTY, granting.key)
                + self.pending(policy.obligations, DutyOrigin.OBLIGATION, None)
                + consequences
            )
            reasons = [Reason(basis.value, summary, granting.key), *grant_reasons, *details]
        else:
            basis, summary, decided_by = self.refused(granting, prohibiting)
            duties = consequences
            reasons = [Reason(basis.value, summary), *grant_reasons, *details]
        if policy.type is PolicyType.OFFER:
            reasons.append(
                Reason(
                    "offer-evaluated-as-set",
                    "this is an Offer: it grants nothing until an Agreement is made; "
                    "it was evaluated as a Set",
                )
            )
        return Decision(
            permitted=permitted,
            basis=basis,
            policy_id=policy.uid,
            decided_by=decided_by,
            duties=tuple(duties),
            reasons=reasons,
        )

    def grant(
        self, details: list[Reason], consequences: list[DutyDirective]
    ) -> tuple[Permission | None, list[Reason]]:
        """The first permission that applies and its reasons; the others' reasons go to ``details``.

        A permission with a violated duty does not apply; the duty's
        consequences are added to ``consequences``.
        """
        granting: Permission | None = None
        grant_reasons: list[Reason] = []
        for permission in self.policy.permissions:
            out: list[Reason] = []
            applies = self.rule(permission, out)
            if applies:
                violated = [
                    d for d in permission.duties if self.states.get(d.key) is DutyState.VIOLATED
                ]
                for duty in violated:
                    out.append(
                        Reason(
                            "duty-violated",
                            f"duty {duty.key} ({duty.action.name if duty.action else '?'})"
                            " is violated",
                            permission.key,
                        )
                    )
                    consequences.extend(self.consequences(duty))
                if violated:
                    applies = False
            if applies and granting is None:
                granting, grant_reasons = permission, out
            else:
                details.extend(out)
        return granting, grant_reasons

    def prohibitions(self, details: list[Reason]) -> tuple[str, ...]:
        """Keys of the prohibitions that apply (or may: fail closed); reasons go to ``details``."""
        prohibiting: list[str] = []
        for prohibition in self.policy.prohibitions:
            out: list[Reason] = []
            if self.rule(prohibition, out) is not False:
                prohibiting.append(prohibition.key)
                details.extend(out)
        return tuple(prohibiting)

    def _what(self) -> str:
        ctx = self.ctx
        return f"{ctx.action} of {ctx.target or 'the asset'} by {ctx.assignee or 'anyone'}"

    def permitted(
        self, granting: Permission, prohibiting: tuple[str, ...]
    ) -> tuple[Basis, str, tuple[str, ...]]:
        """Basis, summary and deciding rules of a permit."""
        summary = f"permission {granting.key} allows {self._what()}"
        if not prohibiting:
            return Basis.PERMITTED, summary, (granting.key,)
        summary += f"; prohibition {', '.join(prohibiting)} gives way (conflict perm)"
        return Basis.PERMITTED_OVER_PROHIBITION, summary, (granting.key,)

    def refused(
        self, granting: Permission | None, prohibiting: tuple[str, ...]
    ) -> tuple[Basis, str, tuple[str, ...]]:
        """Basis, summary and deciding rules of a denial."""
        if granting is not None and self.policy.conflict_strategy is ConflictStrategy.INVALID:
            summary = (
                f"permission {granting.key} and prohibition {', '.join(prohibiting)} "
                "both apply; the conflict strategy is invalid, so the policy is void"
            )
            return Basis.POLICY_VOID, summary, (granting.key, *prohibiting)
        if prohibiting:
            summary = f"prohibition {', '.join(prohibiting)} forbids {self._what()}"
            return Basis.PROHIBITED, summary, prohibiting
        return Basis.NO_APPLICABLE_PERMISSION, f"no permission allows {self._what()}", ()

def evaluate(
    policy: Policy,
    ctx: RequestContext,
    *,
    parents: Mapping[str, Policy] | None = None,
    terms: Terms = DEFAULT_TERMS,
) -> Decision:
    """Decide ``ctx`` against ``policy`` by walking the model (slow path, full reasons)."""
    return _Interpreter(normalize(policy, parents), ctx, terms).run()
