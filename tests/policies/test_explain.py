"""Policies in plain words: every preset, logical constraints, prohibitions, unknown operands."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from policies import Explanation, explain, parse_policy, to_dsp, validate_policy
from policies.model import Constraint, Permission, Policy, Value
from policies.presets import (
    AccessLevel,
    Licence,
    agreement_from_offer,
    calls_per_period,
    metered,
    pay_per_use,
    plan_offer,
    purchase,
    research_use,
    subscription,
    traffic_light_offer,
)
from policies.profile import Profile
from policies.vocabulary import Kind, OperandSpec, Operator, PolicyType

HALDEN = "did:web:halden.kommune.no"
ACME = "did:web:acme.example"
CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]


def _text(e: Explanation) -> str:
    return " ".join((e.summary, *e.lines))


def test_green_offer_is_green_with_attribution_and_licence() -> None:
    e = explain(traffic_light_offer(AccessLevel.PUBLIC, offer_id="urn:o:g", assigner=HALDEN))
    assert e.colour == "green"
    assert e.summary == (
        f"Anyone may use this dataset, provided they credit {HALDEN}, under NLOD 2.0."
    )
    assert f"Duty: the requester must credit {HALDEN}." in e.lines
    assert any(Licence.NLOD_2_0.value in line for line in e.lines)


def test_yellow_offer_names_membership_approval_and_product() -> None:
    offer = traffic_light_offer(
        AccessLevel.RESTRICTED, offer_id="urn:o:y", assigner=HALDEN, product="urn:product:7"
    )
    e = explain(offer)
    assert e.colour == "yellow"
    assert e.summary.startswith("Members of the data space may use this dataset, once the "
                                "provider approves; or members of the data space who bought "
                                "urn:product:7")
    assert f"Duty: the requester must obtain the approval of {HALDEN}." in e.lines
    assert "MembershipCredential (members of the data space)" in _text(e)
    # the same marks survive in the agreement made from the offer
    agreement = agreement_from_offer(offer, agreement_id="urn:a:1", assignee=ACME, target="urn:d")
    assert explain(agreement).colour == "yellow"
    approval_only = traffic_light_offer(
        AccessLevel.RESTRICTED, offer_id="urn:o:y2", assigner=HALDEN
    )
    assert explain(approval_only).colour == "yellow"


def test_the_documented_example_sentence() -> None:
    terms = research_use() + calls_per_period(1000, "P1M") + subscription(
        None, "2028-01-01T00:00:00Z")
    e = explain(plan_offer(terms, offer_id="urn:o:r", assigner=HALDEN))
    assert e.summary == ("Members of the data space may use this dataset for research, "
                         "at most 1,000 calls per month, until 31 Dec 2027.")
    assert e.colour is None  # a plan, not a traffic-light offer
    assert "Condition: calls counted per month." in e.lines
    assert "Condition: at most 1,000 calls." in e.lines
    assert "Condition: until 31 Dec 2027." in e.lines
    assert ("Condition: for research and development, academic research or non-commercial "
            "research.") in e.lines


@pytest.mark.parametrize(
    ("period", "words"),
    [("P1D", "per day"), ("PT1H", "per hour"), ("P1Y", "per year"), ("P3M", "per 3 months"),
     ("PT1H30M", "per 1 hour and 30 minutes")],
)
def test_calls_per_period_in_words(period: str, words: str) -> None:
    e = explain(plan_offer(calls_per_period(25000, period), offer_id="urn:o:c", assigner=HALDEN))
    assert f"at most 25,000 calls {words}" in e.summary


def test_subscription_window() -> None:
    terms = subscription("2026-01-01T00:00:00Z", "2026-06-30T12:00:00+02:00")
    e = explain(plan_offer(terms, offer_id="urn:o:s", assigner=HALDEN, membership_credential=None))
    assert e.summary == ("Anyone may use this dataset, from 1 Jan 2026, "
                         "before 30 Jun 2026, 12:00 UTC+02:00.")


def test_pay_per_use_metered_purchase_plan() -> None:
    terms = pay_per_use("1234.50", "NOK", meter_endpoint="https://meter.example/usage") + purchase(
        "urn:product:7", plan="gold")
    e = explain(plan_offer(terms, offer_id="urn:o:p", assigner=HALDEN, target="urn:ds:1"))
    assert e.summary == ("Members of the data space who bought urn:product:7 on plan gold may use "
                         "this dataset, paying 1,234.50 NOK per use, with each use reported for "
                         "billing.")
    assert "Duty: the requester must pay 1,234.50 NOK to the provider." in e.lines
    assert ("Duty: the requester must report each use for metering and billing, reported to "
            "https://meter.example/usage.") in e.lines
    assert any("bought plan gold" in line for line in e.lines)
    assert "Permission: anyone meeting the conditions below may use urn:ds:1." in e.lines


def test_metered_alone_and_other_credentials() -> None:
    e = explain(plan_offer(metered(), offer_id="urn:o:m", assigner=HALDEN,
                           membership_credential="ResearchInstituteCredential"))
    assert e.summary == ("Holders of a ResearchInstituteCredential may use this dataset, "
                         "with each use reported for billing.")


def test_agreement_names_parties_and_date() -> None:
    offer = plan_offer(calls_per_period(10), offer_id="urn:o:a", assigner=HALDEN)
    agreement = agreement_from_offer(offer, agreement_id="urn:a:2", assignee=ACME,
                                     target="urn:ds:9",
                                     timestamp=datetime(2026, 3, 12, 9, 30, tzinfo=UTC))
    e = explain(agreement)
    assert e.lines[0] == (f"An agreement from {HALDEN} to {ACME} for urn:ds:9, "
                          "made 12 Mar 2026, 09:30 UTC.")
    assert e.summary.startswith(f"{ACME} may use this dataset, at most 10 calls per month")


def test_logical_constraints() -> None:
    doc: dict[str, Any] = {
        "@context": CTX, "@id": "urn:p:or", "@type": "Set", "target": "urn:d",
        "permission": [{"action": "read", "constraint": [
            {"or": [
                {"leftOperand": "spatial", "operator": "eq",
                 "rightOperand": {"@id": "https://sws.geonames.org/3133880/"}},
                {"leftOperand": "purpose", "operator": "eq",
                 "rightOperand": "https://w3id.org/dpv#AcademicResearch"},
            ]},
            {"xone": [
                {"leftOperand": "percentage", "operator": "lteq",
                 "rightOperand": {"@value": "50", "@type": "xsd:decimal"}},
                {"leftOperand": "elapsedTime", "operator": "lteq",
                 "rightOperand": {"@value": "P30D", "@type": "xsd:duration"}},
            ]},
        ]}],
    }
    e = explain(doc)
    assert ("Condition: at least one of: in https://sws.geonames.org/3133880/; "
            "for academic research.") in e.lines
    assert ("Condition: exactly one of: at most 50% of the data; "
            "within 30 days of the agreement.") in e.lines
    assert e.summary == "Anyone may read this dataset, under 2 more conditions."


def test_prohibition_and_obligation() -> None:
    doc: dict[str, Any] = {
        "@context": CTX, "@id": "urn:p:no", "@type": "Agreement", "target": "urn:d",
        "assigner": HALDEN, "assignee": ACME,
        "permission": [{"action": "use"}],
        "prohibition": [{"action": "distribute", "constraint": [
            {"leftOperand": "spatial", "operator": "isNoneOf",
             "rightOperand": [{"@id": "urn:area:eea"}]}]}],
        "obligation": [{"action": "delete", "constraint": [
            {"leftOperand": "dateTime", "operator": "gteq",
             "rightOperand": {"@value": "2027-12-31", "@type": "xsd:date"}}]}],
    }
    e = explain(doc)
    assert f"Prohibition: {ACME} may not distribute urn:d." in e.lines
    assert "Condition: outside urn:area:eea." in e.lines
    assert f"Obligation: {ACME} must delete." in e.lines
    assert "Obligation condition: from 31 Dec 2027." in e.lines
    assert e.summary == (f"{ACME} may use this dataset; {ACME} may not distribute it under "
                         f"conditions; {ACME} must delete.")


def test_prohibition_for_everyone() -> None:
    doc = {"@context": CTX, "@id": "urn:p:x", "@type": "Set", "target": "urn:d",
           "prohibition": [{"action": "cc:CommercialUse"}]}
    e = explain(doc)
    assert e.summary == "Nobody may use commercially this dataset."
    assert "Prohibition: nobody may use commercially urn:d." in e.lines


def test_unknown_operand_is_described_not_dropped() -> None:
    shoe = Profile(iri="https://example.org/shoes", prefix="ex", namespace="https://example.org/",
                   left_operands={"shoeSize": OperandSpec("ex:shoeSize", Kind.DECIMAL,
                                                          "ex:shoeSize", "shoe size")})
    doc = {"@context": CTX, "@id": "urn:p:s", "@type": "Set", "target": "urn:d",
           "profile": "https://example.org/shoes",
           "permission": [{"action": "use", "constraint": [
               {"leftOperand": "ex:shoeSize", "operator": "gt",
                "rightOperand": {"@value": "42", "@type": "xsd:integer"}}]}]}
    e = explain(doc, profiles=[shoe])
    assert "Condition: a condition on ex:shoeSize is more than 42." in e.lines
    assert "under 1 more condition" in e.summary
    # a model built by hand, with an operator list, is described the same way
    policy = Policy(uid="urn:p:h", type=PolicyType.SET, permissions=(Permission(
        constraints=(Constraint(left_operand="ex:colour", operator=Operator.IS_ANY_OF,
                                right_operand=(Value(value="red"), Value(value="blue"))),)),))
    assert "Condition: a condition on ex:colour is one of red or blue." in explain(policy).lines


def test_invalid_document_is_explained_not_raised() -> None:
    e = explain({"@context": CTX, "@id": "urn:p:bad", "@type": "Set", "permission": [{}]})
    assert e.summary.startswith("This policy is not valid ODRL, so it grants nothing")
    assert e.lines[0].startswith("Problem at /permission/0:")
    assert e.colour is None


def test_every_force_case(force_cases: list[dict[str, Any]]) -> None:
    assert len(force_cases) == 68
    for case in force_cases:
        e = explain(case["policy"])
        assert isinstance(e, Explanation)
        if not validate_policy(case["policy"]):
            assert e.summary.endswith("."), case["id"]
            assert not e.summary.startswith("This policy is not valid"), case["id"]
            assert e.lines, case["id"]
            # the model gives the same words as the document
            assert explain(parse_policy(case["policy"])) == e, case["id"]
            # every date shown is in words, never ISO
            assert not re.search(r"\d{4}-\d{2}-\d{2}", e.summary), case["id"]


def test_explaining_round_trips_through_dsp() -> None:
    offer = plan_offer(pay_per_use("5") + calls_per_period(100, "P1D"), offer_id="urn:o:rt",
                       assigner=HALDEN)
    assert explain(to_dsp(offer)) == explain(offer)
