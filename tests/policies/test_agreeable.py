"""Negotiation-time evaluation: what a use will tell is undetermined, not refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policies import RequestContext, compile_policy, parse_policy

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def research_offer(prohibition: dict[str, Any] | None = None,
                   conflict: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@id": "urn:offer:1", "@type": "Offer", "profile": PROFILE,
        "assigner": "did:web:halden.example", "target": "urn:dataset:bikes",
        "permission": [{"action": "use", "constraint": [
            {"leftOperand": "dst:credentialType", "operator": "eq",
             "rightOperand": "MembershipCredential"},
            {"leftOperand": "count", "operator": "lt",
             "rightOperand": {"@value": "100", "@type": "xsd:integer"}},
            {"leftOperand": "purpose", "operator": "eq",
             "rightOperand": "https://w3id.org/dpv#AcademicResearch"},
            {"leftOperand": "dateTime", "operator": "lt",
             "rightOperand": {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}},
        ]}],
    }
    if prohibition is not None:
        doc["prohibition"] = [prohibition]
    if conflict is not None:
        doc["conflict"] = conflict
    return doc


def at_negotiation(credentials: dict[str, list[dict[str, Any]]],
                   now: datetime = NOW, assignee: str = "did:web:analytics.example"
                   ) -> RequestContext:
    return RequestContext(action="use", target="urn:dataset:bikes", assignee=assignee,
                          now=now, credentials=credentials)


MEMBER = {"MembershipCredential": [{"legalName": "Example Analytics AS"}]}


def test_a_member_may_agree_although_purpose_and_count_are_not_known_yet() -> None:
    compiled = compile_policy(parse_policy(research_offer()))
    ctx = at_negotiation(MEMBER)
    assert compiled.agreeable(ctx) is True
    # ... but no use is permitted without a purpose: decide is the use-time question.
    assert compiled.decide(ctx).permitted is False


def test_what_is_known_now_still_decides() -> None:
    compiled = compile_policy(parse_policy(research_offer()))
    assert compiled.agreeable(at_negotiation({})) is False  # not a member
    late = datetime(2027, 2, 1, tzinfo=UTC)
    assert compiled.agreeable(at_negotiation(MEMBER, now=late)) is False  # window closed


def test_a_prohibition_that_certainly_applies_blocks_agreement() -> None:
    bans = {"action": "use", "assignee": "did:web:banned.example"}
    compiled = compile_policy(parse_policy(research_offer(prohibition=bans)))
    assert compiled.agreeable(at_negotiation(MEMBER, assignee="did:web:banned.example")) is False
    assert compiled.agreeable(at_negotiation(MEMBER)) is True
    # A prohibition that depends on how the data will be used does not block agreeing.
    marketing = {"action": "use", "constraint": [
        {"leftOperand": "purpose", "operator": "eq",
         "rightOperand": "https://w3id.org/dpv#Marketing"}]}
    compiled = compile_policy(parse_policy(research_offer(prohibition=marketing)))
    assert compiled.agreeable(at_negotiation(MEMBER)) is True


def test_perm_strategy_lets_a_permission_win() -> None:
    bans = {"action": "use", "assignee": "did:web:analytics.example"}
    compiled = compile_policy(parse_policy(research_offer(prohibition=bans, conflict="perm")))
    assert compiled.agreeable(at_negotiation(MEMBER)) is True


def test_another_action_is_not_agreeable() -> None:
    compiled = compile_policy(parse_policy(research_offer()))
    ctx = at_negotiation(MEMBER)
    ctx.action = "sell"
    assert compiled.agreeable(ctx) is False
