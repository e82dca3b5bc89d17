"""The hand-written decision corpus: every case, through both evaluation paths."""

from __future__ import annotations

import pytest

from policies import (
    Decision,
    RequestContext,
    compile_policy,
    evaluate,
    parse_policy,
    validate_policy,
)
from tests.policies.conftest import CORPUS_CASES, DECISION_CASES, Case


def _decide(case: Case) -> tuple[Decision, Decision]:
    parents = {p["@id"]: parse_policy(p) for p in case.parents}
    policy = parse_policy(case.policy)
    ctx = RequestContext.from_mapping(case.context)
    compiled = compile_policy(policy, parents=parents).decide(ctx)
    interpreted = evaluate(policy, ctx, parents=parents)
    return compiled, interpreted


def test_corpus_is_large_and_ids_are_unique() -> None:
    ids = [case.id for case in CORPUS_CASES]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", DECISION_CASES, ids=lambda c: c.id)
def test_decision(case: Case) -> None:
    assert validate_policy(case.policy) == [], case.why
    for decision in _decide(case):
        assert decision.permitted is (case.expected == "permit"), case.why
        if case.basis is not None:
            assert decision.basis == case.basis, case.why
        if case.duties is not None:
            assert [d.id for d in decision.duties] == list(case.duties), case.why


@pytest.mark.parametrize("case", DECISION_CASES, ids=lambda c: c.id)
def test_compiled_agrees_with_interpreted(case: Case) -> None:
    compiled, interpreted = _decide(case)
    assert compiled.permitted is interpreted.permitted
    assert compiled.basis == interpreted.basis
    assert compiled.decided_by == interpreted.decided_by
    assert compiled.duties == interpreted.duties
    # a compiled deny explains itself lazily, with the interpreter's reasons
    assert compiled.reasons
    assert compiled.reasons[0].code == compiled.basis


@pytest.mark.parametrize(
    "case", [c for c in CORPUS_CASES if c.expected == "invalid"], ids=lambda c: c.id
)
def test_invalid_policy(case: Case) -> None:
    issues = validate_policy(case.policy)
    assert {issue.code for issue in issues} == case.errors, [str(i) for i in issues]
    assert all(issue.path.startswith("/") or issue.path == "" for issue in issues)
