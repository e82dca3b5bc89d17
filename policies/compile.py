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

from collections.abc import Callable, Mapping

from policies.checks import Check, Probe, Tri, all_of, compile_constraint, compile_node, ref_check
from policies.context import DutyState, RequestContext
from policies.decision import Basis, Decision, DutyDirective, DutyOrigin, Reason
from policies.duties import applicability, directive
from policies.evaluate import evaluate
from policies.model import (
    Asset,
    Constraint,
    Duty,
    Party,
    Permission,
    Policy,
    Prohibition,
)
from policies.normalize import normalize
from policies.operands import member_of
from policies.plan import Plan, plan
from policies.profile import DEFAULT_TERMS, Terms
from policies.vocabulary import (
    ConflictStrategy,
    ancestors,
    canonical_action,
)

__all__ = ["CompiledPolicy", "compile_policy"]

_VIOLATED = DutyState.VIOLATED


# -- rules ---------------------------------------------------------------------------


class _Duty:
    """A compiled duty: its key, directive, in-effect check and compiled consequences."""

    __slots__ = ("check", "consequences", "directive", "key")

    def __init__(self, duty: Duty, origin: DutyOrigin, rule: str | None, terms: Terms) -> None:
        self.key = duty.key
        self.directive = directive(duty, origin, rule)
        nodes = applicability(duty)
        self.check = all_of(tuple(compile_node(n, terms) for n in nodes)) if nodes else None
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
    """One closure deciding whether ``rule`` applies: its parties, asset and constraints.

    The closure inlines what :func:`~policies.checks.all_of` and
    :func:`~policies.checks.probe_check` do, on purpose: it runs on every data
    request, and composing them cost 10-12 % of compiled decisions per second
    (``benchmarks/policies.py``).
    """
    target, assignee = _plain_reference(rule.target), _plain_reference(rule.assignee)
    slow: list[Check] = []
    for role, ref, plain in (
        ("target", rule.target, target),
        ("assignee", rule.assignee, assignee),
    ):
        if ref is not None and plain is None:
            slow.append(ref_check(ref, role, terms))
    probes: list[Probe] = []
    refinements = rule.action.refinements if rule.action else ()
    for node in (*refinements, *rule.constraints):
        if isinstance(node, Constraint):
            found, check = compile_constraint(node, terms)
            if found is not None:
                probes.extend(found)
                continue
            slow.append(check)
        else:
            slow.append(compile_node(node, terms))
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

    def __init__(
        self, rule: Permission | Prohibition, terms: Terms, obligations: _Duties, policy_id: str
    ) -> None:
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


# -- the compiled policy ------------------------------------------------------------


class CompiledPolicy:
    """A policy compiled to closures, with what enforcers need to plan.

    ``decide(ctx)`` is the hot path; ``explain(ctx)`` gives the full explanation
    (the interpreter's decision with every reason). ``agreeable(ctx)`` answers
    the question of contract negotiation rather than of use. ``plan``
    describes which context fields the policy reads, its count limit, time
    window and the credentials and purposes it asks for.
    """

    __slots__ = ("_terms", "agreeable", "decide", "plan", "policy", "uid")

    def __init__(
        self,
        policy: Policy,
        decide: Callable[[RequestContext], Decision],
        plan: Plan,
        terms: Terms,
        agreeable: Callable[[RequestContext], bool],
    ) -> None:
        self.policy = policy
        """The spelled-out policy (policy-level properties pushed into rules)."""
        self.uid = policy.uid
        self.decide = decide
        self.plan = plan
        self._terms = terms
        self.agreeable = agreeable
        """Whether an agreement on this policy may be made with what ``ctx`` knows now.

        At negotiation time the context knows who asks (credentials, claims),
        for what and when; what only a use will tell (purpose, count, place,
        payment...) is left out, so constraints on it are undetermined. An
        agreement may be made when some permission for the action is not
        ruled out by what is known, and no prohibition certainly applies
        (unless the conflict strategy lets permissions win). Each use is
        then decided in full by ``decide``.
        """

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
    obligations = tuple(_Duty(d, DutyOrigin.OBLIGATION, None, terms) for d in spelled.obligations)
    perms = tuple(_Rule(p, terms, obligations, spelled.uid) for p in spelled.permissions)
    prohibs = tuple(_Rule(p, terms, obligations, spelled.uid) for p in spelled.prohibitions)
    compiled: CompiledPolicy

    def lazy(ctx: RequestContext) -> Callable[[], tuple[Reason, ...]]:
        return lambda: compiled.explain(ctx).reasons

    decide = _decider(spelled, perms, prohibs, obligations, lazy)
    agreeable = _agreeable(perms, prohibs, spelled.conflict_strategy)
    compiled = CompiledPolicy(spelled, decide, plan(spelled, terms), terms, agreeable)
    return compiled


_Explainer = Callable[[RequestContext], Callable[[], tuple[Reason, ...]]]


def _decider(
    policy: Policy,
    perms: tuple[_Rule, ...],
    prohibs: tuple[_Rule, ...],
    obligations: _Duties,
    lazy: _Explainer,
) -> Callable[[RequestContext], Decision]:
    """The hot path: ``decide(ctx)`` of a compiled policy."""
    uid, strategy = policy.uid, policy.conflict_strategy
    consequences_possible = any(d.consequences for r in perms for d in r.duties) or any(
        d.consequences for d in obligations
    )
    entries = tuple((rule.actions, rule.applies, rule) for rule in perms)

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
            return _permit(granting, prohibiting, obligations, violated, ctx, uid, lazy(ctx))
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
            duties=tuple(_due(violated, ctx)) if violated else (),
            explain=lazy(ctx),
        )

    return decide


def _pending(duties: _Duties, ctx: RequestContext) -> list[DutyDirective]:
    """The directives of ``duties`` not yet fulfilled (or violated) whose conditions may hold."""
    states = ctx.duties or {}
    return [
        d.directive
        for d in duties
        if states.get(d.key, DutyState.NOT_SET) is DutyState.NOT_SET
        and (d.check is None or d.check(ctx) is not False)
    ]


def _due(violated: list[_Duty], ctx: RequestContext) -> list[DutyDirective]:
    """The consequences now due for the ``violated`` duties."""
    return [d for duty in violated for d in _pending(duty.consequences, ctx)]


def _permit(
    granting: _Rule,
    prohibiting: tuple[str, ...],
    obligations: _Duties,
    violated: list[_Duty],
    ctx: RequestContext,
    uid: str,
    explain: Callable[[], tuple[Reason, ...]],
) -> Decision:
    """A permit built for this request (duty states, a prohibition that gives way)."""
    return Decision(
        permitted=True,
        basis=Basis.PERMITTED_OVER_PROHIBITION if prohibiting else Basis.PERMITTED,
        policy_id=uid,
        decided_by=(granting.key,),
        duties=(*_pending(granting.duties, ctx), *_pending(obligations, ctx), *_due(violated, ctx)),
        explain=explain,
    )


def _agreeable(
    perms: tuple[_Rule, ...], prohibs: tuple[_Rule, ...], strategy: ConflictStrategy
) -> Callable[[RequestContext], bool]:
    """``agreeable(ctx)`` of a compiled policy (see :attr:`CompiledPolicy.agreeable`)."""

    def agreeable(ctx: RequestContext) -> bool:
        action = ctx.action
        possible = any(action in r.actions and r.applies(ctx) is not False for r in perms)
        if not possible:
            return False
        certain_prohibition = any(action in r.actions and r.applies(ctx) is True for r in prohibs)
        return not certain_prohibition or strategy is ConflictStrategy.PERM

    return agreeable
