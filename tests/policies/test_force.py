"""The FORCE ODRL test suite (68 cases from ../shared/conformance/odrl-force)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies import RequestContext, compile_policy, evaluate, parse_policy, validate_policy
from tests.conftest import SHARED

_FILE = SHARED / "conformance" / "odrl-force" / "cases.json"
_MISSING = (f"the FORCE cases are missing ({_FILE} does not exist): put ../shared beside the "
            "clone or set DATASPACE_SHARED_DIR; none of the 68 cases ran")
CASES: list[dict[str, Any]] = json.loads(_FILE.read_text("utf-8")) if _FILE.is_file() else []


def _outcome(case: dict[str, Any]) -> tuple[str, str]:
    """(compiled, interpreted) outcome: permit, deny or invalid."""
    if validate_policy(case["policy"]):
        return "invalid", "invalid"
    policy = parse_policy(case["policy"])
    ctx = RequestContext.from_mapping(case["context"])
    compiled = compile_policy(policy).decide(ctx)
    interpreted = evaluate(policy, ctx)
    return (
        "permit" if compiled.permitted else "deny",
        "permit" if interpreted.permitted else "deny",
    )


def test_the_suite_has_68_cases() -> None:
    # Not through the fixture: without the data this must fail, not error or skip.
    assert _FILE.is_file(), _MISSING
    assert len(CASES) == 68
    assert len({c["id"] for c in CASES}) == 68


# Without the data the parameter set would be empty, which pytest reports as a
# skip: one failing case stands in for the 68 instead.
_PARAMS: list[Any] = list(CASES) or [pytest.param(None, id="cases-missing")]


@pytest.mark.parametrize("case", _PARAMS, ids=lambda c: str(c["id"]))
def test_case_matches_expected(case: dict[str, Any] | None) -> None:
    assert case is not None, _MISSING
    assert _outcome(case) == (case["expected"], case["expected"]), case["title"]


def test_outcome_counts(force_cases: list[dict[str, Any]]) -> None:
    outcomes = [_outcome(case)[0] for case in force_cases]
    assert (outcomes.count("permit"), outcomes.count("deny"), outcomes.count("invalid")) == (
        24,
        38,
        6,
    )


def test_invalid_cases_are_missing_actions(force_cases: list[dict[str, Any]]) -> None:
    for case in force_cases:
        if case["expected"] == "invalid":
            codes = {issue.code for issue in validate_policy(case["policy"])}
            assert codes == {"missing-action"}, case["id"]


def test_the_large_policy_compiles_and_decides(force_cases: list[dict[str, Any]]) -> None:
    case = next(c for c in force_cases if c["id"] == "force-062")
    compiled = compile_policy(parse_policy(case["policy"]))
    ctx = RequestContext.from_mapping(case["context"])
    assert compiled.decide(ctx).permitted is (case["expected"] == "permit")
    # 262 and-pairs of dateTime bounds: every bound is a re-check instant
    assert len(compiled.plan.time_boundaries) == 524
