"""Compiled policies: the plan enforcers read, the cache, and a lean hot path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import policies.checks
import policies.operands
import policies.values
from policies import (
    Basis,
    DutyOrigin,
    PolicyCache,
    RequestContext,
    compile_cached,
    compile_policy,
    fingerprint,
    parse_policy,
)

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"


def _when(text: str) -> dict[str, str]:
    return {"@value": text, "@type": "xsd:dateTime"}


AGREEMENT: dict[str, Any] = {
    "@id": "urn:agreement:bench",
    "@type": "Agreement",
    "profile": PROFILE,
    "target": "urn:data:traffic",
    "assigner": "did:web:trondheim.kommune.no",
    "assignee": "did:web:acme.example",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "dateTime", "operator": "gteq",
                 "rightOperand": _when("2025-01-01T00:00:00Z")},
                {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": _when("2026-01-01T00:00:00Z")},
                {"leftOperand": "count", "operator": "lt",
                 "rightOperand": {"@value": "1000", "@type": "xsd:integer"}},
                {"leftOperand": "purpose", "operator": "isAnyOf",
                 "rightOperand": ["urn:purpose:research", "urn:purpose:education"]},
                {"leftOperand": "recipient", "operator": "eq",
                 "rightOperand": "did:web:acme.example"},
                {"leftOperand": "dst:credentialType", "operator": "eq",
                 "rightOperand": "MembershipCredential"},
            ],
        }
    ],
}  # fmt: skip


def _ctx(**changes: Any) -> RequestContext:
    values: dict[str, Any] = {
        "action": "read",
        "target": "urn:data:traffic",
        "assignee": "did:web:acme.example",
        "now": datetime(2025, 6, 1, tzinfo=UTC),
        "count": 10,
        "purpose": "urn:purpose:research",
        "recipient": "did:web:acme.example",
        "credentials": {"MembershipCredential": ({},)},
    }
    values.update(changes)
    return RequestContext(**values)


def test_plan_of_the_benchmark_agreement() -> None:
    plan = compile_policy(parse_policy(AGREEMENT)).plan
    assert plan.reads == {
        "action", "target", "assignee", "dateTime", "count", "purpose", "recipient",
        "credentials",
    }  # fmt: skip
    assert plan.count_limit == 1000
    assert plan.valid_until == datetime(2026, 1, 1, tzinfo=UTC)
    assert plan.time_boundaries == (
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert plan.next_boundary(datetime(2025, 6, 1, tzinfo=UTC)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert plan.next_boundary(datetime(2026, 1, 1, tzinfo=UTC)) is None
    assert plan.required_credentials == {"MembershipCredential"}
    assert plan.required_purposes == {"urn:purpose:research", "urn:purpose:education"}


def _plan(permissions: list[dict[str, Any]], **extra: Any) -> Any:
    doc = {"@id": "urn:p", "@type": "Set", "profile": PROFILE, "target": "urn:t",
           "permission": permissions, **extra}  # fmt: skip
    return compile_policy(parse_policy(doc)).plan


def _count(op: str, n: int) -> dict[str, Any]:
    return {"leftOperand": "count", "operator": op,
            "rightOperand": {"@value": str(n), "@type": "xsd:integer"}}  # fmt: skip


def test_count_limit_is_the_tightest_bound() -> None:
    assert _plan([{"action": "use"}]).count_limit is None
    assert _plan([{"action": "use", "constraint": [_count("lteq", 10)]}]).count_limit == 11
    plan = _plan(
        [{"action": "read", "constraint": [_count("lt", 100)]},
         {"action": "modify", "constraint": [{"or": [_count("lt", 20), _count("gt", 5)]}]}],
        prohibition=[{"action": "use", "constraint": [_count("gteq", 50)]}],
    )  # fmt: skip
    assert plan.count_limit == 20


def test_count_period_from_time_interval() -> None:
    interval = {"leftOperand": "timeInterval", "operator": "eq",
                "rightOperand": {"@value": "P1D", "@type": "xsd:duration"}}  # fmt: skip
    plan = _plan([{"action": "use", "constraint": [_count("lt", 100), interval]}])
    assert (plan.count_limit, plan.count_period) == (100, timedelta(days=1))


def test_valid_until_needs_every_permission_to_end() -> None:
    ends_2025 = {"leftOperand": "dateTime", "operator": "lteq",
                 "rightOperand": {"@value": "2025-12-31", "@type": "xsd:date"}}  # fmt: skip
    ends_2026 = {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": _when("2026-06-01T00:00:00Z")}  # fmt: skip
    assert _plan([{"action": "use", "constraint": [ends_2025]}]).valid_until == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    both = _plan([{"action": "read", "constraint": [ends_2025]},
                  {"action": "modify", "constraint": [ends_2026]}])  # fmt: skip
    assert both.valid_until == datetime(2026, 6, 1, tzinfo=UTC)
    open_ended = _plan([{"action": "read", "constraint": [ends_2025]}, {"action": "modify"}])
    assert open_ended.valid_until is None
    either = _plan([{"action": "use", "constraint": [{"or": [ends_2025, _count("lt", 3)]}]}])
    assert either.valid_until is None  # the count branch never ends


def test_reads_only_what_the_policy_needs() -> None:
    plan = _plan([{"action": "use", "assignee": {"@type": "PartyCollection", "@id": "urn:g"},
                   "constraint": [{"leftOperand": "spatial", "operator": "isPartOf",
                                   "rightOperand": "urn:place:norway"}]}])  # fmt: skip
    assert plan.reads == {"action", "target", "assignee", "partOf", "spatial"}
    claims = _plan([{"action": "use", "constraint": [
        {"leftOperand": "dst:claim/DataProductPurchaseCredential/product", "operator": "eq",
         "rightOperand": "urn:product:1"}]}])  # fmt: skip
    assert "credentials" in claims.reads
    assert claims.required_credentials == {"DataProductPurchaseCredential"}


def test_duty_parameters_are_not_context_reads() -> None:
    duty = {"action": {"rdf:value": {"@id": "dst:notify"}, "refinement": [
        {"leftOperand": "dst:endpoint", "operator": "eq", "rightOperand": {"@id": "https://h.example"}}
    ]}}  # fmt: skip
    plan = _plan([{"action": "use", "duty": [duty]}])
    assert plan.reads == {"action", "target", "duties"}


# -- decisions --------------------------------------------------------------------------


def test_decide_permit_and_lazy_deny_reasons() -> None:
    compiled = compile_policy(parse_policy(AGREEMENT))
    permit = compiled.decide(_ctx())
    assert (permit.permitted, permit.basis, permit.decided_by) == (
        True, Basis.PERMITTED, ("/permission/0",)
    )  # fmt: skip
    # a permit with nothing request-specific is one prebuilt object: no allocation
    assert compiled.decide(_ctx()) is permit
    deny = compiled.decide(_ctx(count=1000))
    assert (deny.permitted, deny.basis) == (False, Basis.NO_APPLICABLE_PERMISSION)
    assert deny._reasons is None  # not built until asked for
    messages = [r.message for r in deny.reasons]
    assert any("count lt 1000: not satisfied by 1000" in m for m in messages)
    assert deny.reasons == compiled.explain(_ctx(count=1000)).reasons


def test_hot_path_never_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_policy(parse_policy(AGREEMENT))

    def forbidden(*args: object) -> None:
        raise AssertionError("parsed on the hot path")

    for module, name in [
        (policies.operands, "convert_right"),
        (policies.checks, "convert_right"),
        (policies.values, "parse_datetime"),
        (policies.operands, "parse_datetime"),
    ]:
        monkeypatch.setattr(module, name, forbidden)
    assert compiled.decide(_ctx()).permitted
    assert not compiled.decide(_ctx(purpose="urn:purpose:ads")).permitted


def test_duty_directives_carry_what_the_enforcer_needs() -> None:
    doc = {
        "@id": "urn:p:duties", "@type": "Set", "profile": PROFILE, "target": "urn:t",
        "permission": [{"action": "use", "duty": [
            {"@id": "urn:d:pay", "action": {"rdf:value": {"@id": "odrl:compensate"}, "refinement": [
                {"leftOperand": "payAmount", "operator": "eq",
                 "rightOperand": {"@value": "5.00", "@type": "xsd:decimal"}, "unit": "EUR"}]},
             "compensatedParty": "did:web:trondheim.kommune.no"},
            {"@id": "urn:d:delete", "action": "delete", "target": "urn:t", "constraint": [
                {"leftOperand": "dateTime", "operator": "gt",
                 "rightOperand": {"@value": "2026-06-30", "@type": "xsd:date"}},
                {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": _when("2026-08-01T00:00:00Z")},
            ]},
        ]}],
    }  # fmt: skip
    decision = compile_policy(parse_policy(doc)).decide(
        RequestContext(action="read", target="urn:t")
    )
    pay, delete = decision.duties
    assert (pay.id, pay.action, pay.origin) == ("urn:d:pay", "compensate", DutyOrigin.DUTY)
    assert pay.parameters == {"payAmount": "5.00", "unit": "EUR"}
    assert pay.parties == {"compensatedParty": "did:web:trondheim.kommune.no"}
    assert delete.not_before == datetime(2026, 7, 1, tzinfo=UTC)  # after that day
    assert delete.not_after == datetime(2026, 8, 1, tzinfo=UTC)
    assert delete.to_dict() == {
        "id": "urn:d:delete", "action": "delete", "origin": "duty", "state": "notSet",
        "rule": "/permission/0", "target": "urn:t",
        "notBefore": "2026-07-01T00:00:00+00:00", "notAfter": "2026-08-01T00:00:00+00:00",
    }  # fmt: skip


def test_decision_json_shape() -> None:
    compiled = compile_policy(parse_policy(AGREEMENT))
    data = compiled.explain(_ctx(purpose="urn:purpose:ads")).to_dict()
    assert set(data) == {"permitted", "basis", "policy", "decidedBy", "reasons", "duties"}
    assert data["permitted"] is False
    assert data["reasons"][0]["code"] == "no-applicable-permission"
    assert any(r.get("constraint") == "/permission/0/constraint/3" for r in data["reasons"])


def test_offer_decisions_say_they_grant_nothing() -> None:
    offer = parse_policy({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]})
    decision = compile_policy(offer).explain(RequestContext(action="read"))
    assert decision.permitted
    assert decision.reasons[-1].code == "offer-evaluated-as-set"


# -- the cache --------------------------------------------------------------------------


def test_cache_by_id_and_version() -> None:
    cache = PolicyCache(maxsize=2)
    policy = parse_policy(AGREEMENT)
    first = cache.get(policy, version="1")
    assert cache.get(policy, version="1") is first
    assert cache.get(policy, version="2") is not first
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)
    other = parse_policy({**AGREEMENT, "@id": "urn:agreement:other"})
    cache.get(other, version="1")  # evicts the least recently used (version 1)
    assert cache.get(policy, version="2") is not None
    assert cache.misses == 3
    assert cache.get(policy, version="1") is not first  # recompiled; evicts the other policy
    cache.invalidate(policy.uid)
    assert len(cache) == 0


def test_default_version_is_the_content_hash() -> None:
    policy = parse_policy(AGREEMENT)
    changed = parse_policy({**AGREEMENT, "conflict": "perm"})
    assert fingerprint(policy) != fingerprint(changed)
    assert compile_cached(policy) is compile_cached(parse_policy(AGREEMENT))
    assert compile_cached(changed) is not compile_cached(policy)
