"""Traffic-light offers, licences and plan templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies import CompiledPolicy, NotOfferableError, RequestContext, compile_policy, to_dsp
from policies.presets import (
    RESEARCH_PURPOSES,
    AccessLevel,
    Licence,
    agreement_from_offer,
    calls_per_period,
    pay_per_use,
    plan_offer,
    purchase,
    research_use,
    subscription,
    traffic_light_offer,
)

HALDEN = "did:web:halden.kommune.no"
ACME = "did:web:acme.example"


def test_licence_uris_are_the_eu_authority_ones() -> None:
    assert Licence.NLOD_2_0 == "http://publications.europa.eu/resource/authority/licence/NLOD_2_0"
    assert Licence.CC_BY_4_0 == "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
    assert Licence.CC0 == "http://publications.europa.eu/resource/authority/licence/CC0"
    assert Licence.NLOD_2_0.document == "http://data.norge.no/nlod/no/2.0"
    assert [level.colour for level in AccessLevel] == ["green", "yellow", "red"]


def test_green_is_open_use_with_attribution_under_nlod() -> None:
    offer = traffic_light_offer(AccessLevel.PUBLIC, offer_id="urn:o:green", assigner=HALDEN)
    doc = to_dsp(offer)
    assert doc["@type"] == "Offer"
    assert doc["dct:license"] == {"@id": Licence.NLOD_2_0.value}
    decision = compile_policy(offer).decide(RequestContext(action="distribute", target="urn:d"))
    assert decision.permitted
    assert [(d.action, dict(d.parties)) for d in decision.duties] == [
        ("attribute", {"attributedParty": HALDEN})
    ]
    # use does not cover transfer: selling the data is not granted
    assert not compile_policy(offer).decide(RequestContext(action="sell")).permitted


def test_green_under_another_licence() -> None:
    offer = traffic_light_offer(
        AccessLevel.PUBLIC, offer_id="urn:o:cc", assigner=HALDEN, licence=Licence.CC_BY_4_0
    )
    assert to_dsp(offer)["dct:license"] == {"@id": Licence.CC_BY_4_0.value}


def test_yellow_needs_membership_and_approval_or_purchase() -> None:
    offer = traffic_light_offer(
        AccessLevel.RESTRICTED, offer_id="urn:o:yellow", assigner=HALDEN, product="urn:product:7"
    )
    compiled = compile_policy(offer)
    outsider = compiled.decide(RequestContext(action="read", credentials={}))
    assert not outsider.permitted
    member = compiled.decide(
        RequestContext(action="read", credentials={"MembershipCredential": ({},)})
    )
    assert member.permitted  # through approval: the negotiation must obtain consent first
    assert [(d.action, dict(d.parties)) for d in member.duties] == [
        ("obtainConsent", {"consentingParty": HALDEN})
    ]
    buyer = RequestContext(
        action="read",
        credentials={
            "MembershipCredential": ({},),
            "DataProductPurchaseCredential": ({"product": "urn:product:7"},),
        },
        duties={"/permission/0/duty/0": "violated"},  # the provider refused approval
    )
    bought = compiled.decide(buyer)
    assert bought.permitted
    assert bought.decided_by == ("/permission/1",)
    assert not bought.duties
    assert compiled.plan.required_credentials == {
        "MembershipCredential", "DataProductPurchaseCredential"
    }  # fmt: skip


def test_yellow_without_any_route_is_refused() -> None:
    with pytest.raises(ValueError, match="approval"):
        traffic_light_offer(AccessLevel.RESTRICTED, offer_id="urn:o", assigner=HALDEN,
                            approval=False)  # fmt: skip


def test_red_is_never_offered() -> None:
    with pytest.raises(NotOfferableError, match="never offered"):
        traffic_light_offer(AccessLevel.NON_PUBLIC, offer_id="urn:o:red", assigner=HALDEN)


def test_plan_templates_combine_into_an_offer_and_an_agreement() -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    terms = (
        subscription(start, end)
        + calls_per_period(1000, "P1D")
        + research_use()
        + pay_per_use("0.50", "NOK", meter_endpoint="https://market.example/usage")
    )
    offer = plan_offer(terms, offer_id="urn:o:plan", assigner=HALDEN)
    agreement = agreement_from_offer(
        offer, agreement_id="urn:a:1", assignee=ACME, target="urn:d:traffic",
        timestamp=datetime(2025, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    assert to_dsp(agreement)["timestamp"] == "2025-03-01T00:00:00Z"
    compiled = compile_policy(agreement)
    assert compiled.plan.count_limit == 1000
    assert compiled.plan.count_period == timedelta(days=1)
    assert compiled.plan.valid_until == end
    assert compiled.plan.required_purposes == set(RESEARCH_PURPOSES)

    def ctx(**changes: object) -> RequestContext:
        values: dict[str, object] = {
            "action": "read", "target": "urn:d:traffic", "assignee": ACME,
            "now": datetime(2025, 6, 1, tzinfo=UTC), "count": 999,
            "time_interval": timedelta(days=1), "purpose": RESEARCH_PURPOSES[1],
            "credentials": {"MembershipCredential": ({},)},
        }  # fmt: skip
        values.update(changes)
        return RequestContext(**values)  # type: ignore[arg-type]

    permit = compiled.decide(ctx())
    assert permit.permitted
    assert [(d.action, dict(d.parameters)) for d in permit.duties] == [
        ("compensate", {"payAmount": "0.50", "unit": "NOK"}),
        ("dst:meter", {"dst:endpoint": "https://market.example/usage"}),
    ]
    assert not compiled.decide(ctx(count=1000)).permitted
    assert not compiled.decide(ctx(now=end)).permitted
    assert not compiled.decide(ctx(purpose="https://w3id.org/dpv#Marketing")).permitted
    assert not compiled.decide(ctx(assignee="did:web:other.example")).permitted
    assert not compiled.decide(ctx(credentials={})).permitted


def test_a_purchase_of_one_plan_does_not_open_another_plans_offer() -> None:
    def offer(plan: str) -> CompiledPolicy:
        return compile_policy(plan_offer(purchase("urn:product:p", plan=plan),
                                         offer_id=f"urn:o:{plan}", assigner=HALDEN))

    def holding(*plans: str) -> RequestContext:
        bought = tuple({"product": "urn:product:p", "plan": plan} for plan in plans)
        return RequestContext(action="use", credentials={
            "MembershipCredential": ({},), "DataProductPurchaseCredential": bought})

    monthly, per_use = offer("urn:plan:monthly"), offer("urn:plan:per-use")
    assert monthly.decide(holding("urn:plan:monthly")).permitted
    assert not monthly.decide(holding("urn:plan:per-use")).permitted
    assert per_use.decide(holding("urn:plan:per-use")).permitted
    assert per_use.decide(holding("urn:plan:monthly", "urn:plan:per-use")).permitted
    # without a plan, any plan's purchase of the product will do (the old rule)
    anyone = compile_policy(plan_offer(purchase("urn:product:p"), offer_id="urn:o",
                                       assigner=HALDEN))
    assert anyone.decide(holding("urn:plan:per-use")).permitted
    doc = to_dsp(plan_offer(purchase("urn:product:p", plan="urn:plan:monthly"),
                            offer_id="urn:o", assigner=HALDEN))
    constraint = doc["permission"][0]["constraint"]
    assert {"leftOperand": "dst:claim/DataProductPurchaseCredential/plan", "operator": "eq",
            "rightOperand": "urn:plan:monthly"} in constraint


def test_open_plan_without_membership() -> None:
    offer = plan_offer(research_use(["urn:purpose:x"]), offer_id="urn:o", assigner=HALDEN,
                       membership_credential=None)  # fmt: skip
    assert "profile" not in to_dsp(offer)
    assert compile_policy(offer).decide(RequestContext(action="use", purpose="urn:purpose:x"))


def test_invalid_template_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calls_per_period(0)
    offer = traffic_light_offer(AccessLevel.PUBLIC, offer_id="urn:o", assigner=HALDEN)
    agreement = agreement_from_offer(offer, agreement_id="urn:a", assignee=ACME, target="urn:d")
    with pytest.raises(ValueError, match="not an Offer"):
        agreement_from_offer(agreement, agreement_id="urn:a2", assignee=ACME, target="urn:d")
