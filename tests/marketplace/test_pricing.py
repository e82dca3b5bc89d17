"""Pricing plans as TMF620 ProductOfferingPrices, their checks, and the ODRL offer of each plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.domain.money import Currency, Money, check_percent, to_minor, vat_minor
from marketplace.domain.pricing import (
    PLAN_TYPE,
    PeriodType,
    PriceType,
    PricingPlan,
    TimePeriod,
    plan_policy,
)
from policies import RequestContext, compile_policy, evaluate, to_dsp, validate_policy
from policies.presets import agreement_from_offer
from servicekit.errors import InvalidRequest

HALDEN = "did:web:halden.kommune.no"
ACME = "did:web:acme.example"
PRODUCT = "urn:marketplace:product:traffic-counts"
METER = "https://market.example/tmf-api/usageManagement/v4/usage"
PLAN_ID = "plan-1"


def plan(**changes: Any) -> dict[str, Any]:
    """A valid pay-per-call plan in its TMF JSON form, with ``changes``."""
    body: dict[str, Any] = {
        "name": "Pay per call",
        "priceType": "usage",
        "price": {"unit": "NOK", "value": 0.5},
        "unitOfMeasure": {"amount": 1, "units": "call"},
        "tax": [{"taxCategory": "VAT", "taxRate": 25}],
    }
    body.update(changes)
    return body


MONTHLY = {
    "name": "Monthly", "priceType": "recurring", "price": {"unit": "EUR", "value": "99.00"},
    "recurringChargePeriodType": "month",
}  # fmt: skip


# -- the plan as TMF JSON ---------------------------------------------------------


def test_a_plan_is_a_tmf620_product_offering_price() -> None:
    parsed = PricingPlan.model_validate(plan(includedQuota=100, validFor={
        "startDateTime": "2026-01-01T00:00:00Z"}))  # fmt: skip
    body = parsed.to_tmf()
    assert body["@type"] == PLAN_TYPE
    assert body["@baseType"] == "ProductOfferingPrice"
    assert body["priceType"] == "usage"
    assert body["price"] == {"unit": "NOK", "value": 0.5}  # a JSON number, as TMF Money has it
    assert body["unitOfMeasure"] == {"amount": 1, "units": "call"}
    assert body["tax"] == [{"taxCategory": "VAT", "taxRate": 25}]
    assert body["includedQuota"] == 100
    assert body["validFor"] == {"startDateTime": "2026-01-01T00:00:00Z"}
    # what the API answers reads back into the same plan
    assert PricingPlan.model_validate_json(json.dumps(body)) == parsed
    # Python code uses snake_case names for the same members
    assert parsed.price_type is PriceType.USAGE
    assert parsed.included_quota == 100


def test_amounts_are_exact_decimals_held_in_minor_units() -> None:
    parsed = PricingPlan.model_validate_json(json.dumps(plan(price={"unit": "NOK",
                                                                   "value": 0.1})))  # fmt: skip
    assert parsed.price.value == Decimal("0.1")
    assert parsed.price.minor == 10
    assert Money.of_minor(1250, Currency.EUR) == Money(unit=Currency.EUR, value=Decimal("12.50"))
    assert to_minor("1234.56", Currency.NOK) == 123456


def test_recurring_defaults_and_derived_facts() -> None:
    monthly = PricingPlan.model_validate(MONTHLY)
    assert monthly.recurring_charge_period_length == 1
    assert monthly.auto_renew is True
    assert monthly.notice_period_days == 0
    assert monthly.vat_rate == Decimal(25)  # Norway's standard rate when not stated
    assert monthly.currency is Currency.EUR
    assert monthly.period_months == 1
    quarterly = PricingPlan.model_validate(MONTHLY | {"recurringChargePeriodLength": 3,
                                                      "autoRenew": False,
                                                      "noticePeriodDays": 30})  # fmt: skip
    assert quarterly.period_months == 3
    assert quarterly.auto_renew is False
    yearly = PricingPlan.model_validate(MONTHLY | {"recurringChargePeriodType": "year"})
    assert yearly.recurring_charge_period_type is PeriodType.YEAR
    assert yearly.period_months == 12


def test_free_is_one_time_at_zero() -> None:
    free = PricingPlan.model_validate(
        {"name": "Free", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}
    )
    assert free.is_free
    assert not PricingPlan.model_validate(MONTHLY).is_free


def test_a_generic_product_offering_price_type_is_read_as_ours() -> None:
    parsed = PricingPlan.model_validate(plan(**{"@type": "ProductOfferingPrice"}))
    assert parsed.to_tmf()["@type"] == PLAN_TYPE


def test_tiers_with_a_gap_and_an_open_end_are_coherent() -> None:
    tiers = [
        {"fromQuantity": 0, "toQuantity": 1000, "price": {"unit": "NOK", "value": 0.5}},
        {"fromQuantity": 2000, "price": {"unit": "NOK", "value": 0.3}},
    ]
    parsed = PricingPlan.model_validate(plan(usageTiers=tiers))
    assert parsed.unit_price_of(Decimal(999)).minor == 50
    assert parsed.unit_price_of(Decimal(1500)).minor == 50  # the gap: the plan's price
    assert parsed.unit_price_of(Decimal(10**9)).minor == 30


# -- bad input ---------------------------------------------------------------------

NOK = {"unit": "NOK", "value": 1}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (plan(price={"unit": "NOK", "value": -1}), "price-negative"),
        (plan(price={"unit": "NOK", "value": "0.001"}), "price-precision"),
        (plan(price={"unit": "USD", "value": 1}), "currency-unknown"),
        (plan(price={"unit": "nok", "value": 1}), "currency-unknown"),
        (plan(price={"unit": "NOK", "value": "1e13"}), "price-invalid"),
        (plan(tax=[{"taxRate": 101}]), "vat-rate-invalid"),
        (plan(tax=[{"taxRate": -1}]), "vat-rate-invalid"),
        (plan(tax=[{"taxRate": "25.125"}]), "vat-rate-invalid"),
        (plan(tax=[{"taxCategory": "sales", "taxRate": 25}]), "vat-rate-invalid"),
        (MONTHLY | {"recurringChargePeriodType": None}, "plan-period-missing"),
        (plan(unitOfMeasure=None), "plan-unit-missing"),
        ({"name": "x", "priceType": "oneTime", "price": NOK,
          "unitOfMeasure": {"units": "call"}}, "plan-incoherent"),
        ({"name": "x", "priceType": "oneTime", "price": NOK,
          "recurringChargePeriodType": "month"}, "plan-incoherent"),
        (MONTHLY | {"includedQuota": 10}, "plan-incoherent"),
        (plan(autoRenew=True), "plan-incoherent"),
        (plan(isBundle=True), "plan-incoherent"),
        (plan(percentage=10), "plan-incoherent"),
        (plan(**{"@type": "Product"}), "plan-incoherent"),
        (plan(**{"@baseType": "Product"}), "plan-incoherent"),
        (plan(purpose=["not an iri"]), "plan-incoherent"),
        (plan(usageTiers=[{"fromQuantity": 0, "toQuantity": 100, "price": NOK},
                          {"fromQuantity": 50, "price": NOK}]), "tiers-invalid"),
        (plan(usageTiers=[{"fromQuantity": 100, "price": NOK},
                          {"fromQuantity": 0, "toQuantity": 100, "price": NOK}]), "tiers-invalid"),
        (plan(usageTiers=[{"fromQuantity": 0, "price": NOK},
                          {"fromQuantity": 10, "price": NOK}]), "tiers-invalid"),
        (plan(usageTiers=[{"fromQuantity": 10, "toQuantity": 10, "price": NOK}]), "tiers-invalid"),
        (plan(usageTiers=[{"fromQuantity": 0, "price": {"unit": "EUR", "value": 1}}]),
         "currency-mismatch"),
        (plan(usageTiers=[{"fromQuantity": 0, "price": {"unit": "NOK", "value": -2}}]),
         "price-negative"),
        (plan(usageLimit={"count": 1000, "period": "1 day"}), "usage-limit-invalid"),
        (plan(validFor={"startDateTime": "2026-02-01T00:00:00Z",
                        "endDateTime": "2026-01-01T00:00:00Z"}), "period-invalid"),
    ],
)  # fmt: skip
def test_bad_plans_are_refused_with_a_stable_code(body: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        PricingPlan.model_validate(body)
    assert caught.value.code == code
    assert caught.value.status == 400
    assert caught.value.to_problem()["type"].endswith(code)


@pytest.mark.parametrize(
    "body",
    [
        plan(name=""),
        plan(priceType="free"),
        plan(price={"unit": "NOK", "value": "NaN"}),
        plan(price={"unit": "NOK", "value": "lots"}),
        plan(price={"unit": "NOK"}),
        plan(unitOfMeasure={"amount": 0, "units": "call"}),
        plan(unitOfMeasure={"amount": 1, "units": "GB"}),
        plan(includedQuota=-1),
        plan(usageLimit={"count": 0}),
        plan(validFor={"startDateTime": "2026-01-01T00:00:00"}),  # no offset
        plan(surprise=1),
        MONTHLY | {"recurringChargePeriodType": "week"},
        MONTHLY | {"noticePeriodDays": -1},
    ],
)
def test_malformed_plans_fail_schema_validation(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):  # the error middleware answers 400 validation-failed
        PricingPlan.model_validate(body)


def test_percentages_and_vat() -> None:
    assert check_percent("12.5", code="x", what="rate") == Decimal("12.5")
    with pytest.raises(InvalidRequest) as caught:
        check_percent("abc", code="vat-rate-invalid", what="rate")
    assert caught.value.code == "vat-rate-invalid"
    assert vat_minor(10000, Decimal(25)) == 2500
    assert vat_minor(2, Decimal(25)) == 1  # 0.5 øre rounds half up
    assert vat_minor(1, Decimal(25)) == 0


# -- the plan's ODRL offer ---------------------------------------------------------

MEMBER = {"MembershipCredential": ({"memberOf": "did:web:operator.example"},)}


def buyer(product: str = PRODUCT, plan_id: str = PLAN_ID) -> dict[str, Any]:
    """Credentials of a member who bought ``product`` on the plan ``plan_id``."""
    bought = {"product": product, "plan": plan_id, "buyer": ACME}
    return MEMBER | {"DataProductPurchaseCredential": (bought,)}


def ctx(credentials: dict[str, Any], **changes: Any) -> RequestContext:
    values: dict[str, Any] = {"action": "read", "target": "urn:dataset:traffic",
                              "assignee": ACME, "credentials": credentials,
                              "now": datetime(2026, 3, 1, tzinfo=UTC)}  # fmt: skip
    values.update(changes)
    return RequestContext(**values)


def offer_of(body: dict[str, Any], **options: Any) -> Any:
    return plan_policy(PricingPlan.model_validate({"id": PLAN_ID} | body), offer_id="urn:offer:1",
                       assigner=HALDEN, product_id=PRODUCT, **options)  # fmt: skip


def test_pay_per_call_offer_needs_the_purchase_credential_and_meters() -> None:
    offer = offer_of(plan(unitOfMeasure={"amount": 1000, "units": "call"},
                          price={"unit": "NOK", "value": 5}),
                     meter_endpoint=METER, target="urn:dataset:traffic")  # fmt: skip
    doc = to_dsp(offer)
    assert validate_policy(doc) == []
    assert doc["@type"] == "Offer"
    assert doc["assigner"] == HALDEN
    compiled = compile_policy(offer)
    permit = compiled.decide(ctx(buyer()))
    assert permit.permitted
    assert [(d.action, dict(d.parameters)) for d in permit.duties] == [
        ("compensate", {"payAmount": "0.005", "unit": "NOK"}),
        ("dst:meter", {"dst:endpoint": METER}),
    ]
    assert not compiled.decide(ctx(MEMBER)).permitted  # did not buy
    assert not compiled.decide(ctx(buyer("urn:marketplace:product:other"))).permitted
    no_membership = {"DataProductPurchaseCredential": ({"product": PRODUCT},)}
    assert not compiled.decide(ctx(no_membership)).permitted
    assert compiled.plan.required_credentials == {
        "MembershipCredential", "DataProductPurchaseCredential"
    }  # fmt: skip
    # the reference interpreter agrees with the compiled policy
    assert evaluate(offer, ctx(buyer())).permitted
    assert not evaluate(offer, ctx(MEMBER)).permitted


def test_usage_with_quota_or_tiers_is_metered_without_a_flat_price() -> None:
    for body in (plan(includedQuota=100),
                 plan(unitOfMeasure={"units": "MB"}),
                 plan(usageTiers=[{"fromQuantity": 0, "price": NOK}])):  # fmt: skip
        permit = compile_policy(offer_of(body)).decide(ctx(buyer()))
        assert permit.permitted
        assert [d.action for d in permit.duties] == ["dst:meter"]


def test_recurring_plan_with_limit_validity_and_purpose() -> None:
    end = datetime(2027, 1, 1, tzinfo=UTC)
    body = MONTHLY | {
        "usageLimit": {"count": 1000, "period": "P1D"},
        "validFor": {"startDateTime": "2026-01-01T00:00:00Z",
                     "endDateTime": "2027-01-01T00:00:00Z"},
        "purpose": ["https://w3id.org/dpv#AcademicResearch"],
    }  # fmt: skip
    offer = offer_of(body)
    assert validate_policy(to_dsp(offer)) == []
    agreement = agreement_from_offer(offer, agreement_id="urn:agreement:1", assignee=ACME,
                                     target="urn:dataset:traffic")  # fmt: skip
    compiled = compile_policy(agreement)
    assert compiled.plan.count_limit == 1000
    assert compiled.plan.count_period == timedelta(days=1)
    assert compiled.plan.valid_until == end
    assert compiled.plan.required_purposes == {"https://w3id.org/dpv#AcademicResearch"}
    ok = {"count": 999, "time_interval": timedelta(days=1),
          "purpose": "https://w3id.org/dpv#AcademicResearch"}  # fmt: skip
    decision = compiled.decide(ctx(buyer(), **ok))
    assert decision.permitted
    assert not decision.duties
    assert not compiled.decide(ctx(buyer(), **(ok | {"count": 1000}))).permitted
    assert not compiled.decide(ctx(buyer(), **(ok | {"now": end}))).permitted
    assert not compiled.decide(ctx(buyer(), **(ok | {"purpose": "urn:marketing"}))).permitted
    assert not compiled.decide(ctx(MEMBER, **ok)).permitted


def test_the_caller_may_narrow_purpose_and_validity() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    offer = offer_of(MONTHLY, purpose="urn:purpose:traffic-planning",
                     validity=TimePeriod(start_date_time=start))  # fmt: skip
    compiled = compile_policy(offer)
    good = ctx(buyer(), purpose="urn:purpose:traffic-planning", now=start)
    assert compiled.decide(good).permitted
    assert not compiled.decide(ctx(buyer(), purpose="urn:purpose:traffic-planning")).permitted
    assert compiled.plan.valid_until is None  # open-ended


def test_free_plan_offer_is_granted_to_holders_of_the_free_purchase() -> None:
    free = {"name": "Free", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}
    compiled = compile_policy(offer_of(free))
    assert compiled.decide(ctx(buyer())).permitted
    assert not compiled.decide(ctx(MEMBER)).permitted


def test_a_plans_offer_is_open_only_to_buyers_of_that_plan() -> None:
    """A buyer of the pay-per-use plan cannot use the monthly plan's offer (unmetered)."""
    monthly = compile_policy(offer_of(MONTHLY | {"id": "plan-monthly"}))
    per_use = compile_policy(offer_of(plan(id="plan-per-use")))
    assert monthly.decide(ctx(buyer(plan_id="plan-monthly"))).permitted
    assert not monthly.decide(ctx(buyer(plan_id="plan-per-use"))).permitted
    assert per_use.decide(ctx(buyer(plan_id="plan-per-use"))).permitted
    assert not per_use.decide(ctx(buyer(plan_id="plan-monthly"))).permitted
    # a credential without a plan claim (or naming no plan) opens neither
    no_plan = MEMBER | {"DataProductPurchaseCredential": ({"product": PRODUCT},)}
    assert not monthly.decide(ctx(no_plan)).permitted
    # holding both purchases, each offer finds its own
    both = MEMBER | {"DataProductPurchaseCredential": (
        {"product": PRODUCT, "plan": "plan-per-use"}, {"product": PRODUCT, "plan": "plan-monthly"})}
    assert monthly.decide(ctx(both)).permitted
    assert per_use.decide(ctx(both)).permitted
    # the reference interpreter agrees
    offer = offer_of(MONTHLY | {"id": "plan-monthly"})
    assert not evaluate(offer, ctx(buyer(plan_id="plan-per-use"))).permitted
    assert evaluate(offer, ctx(buyer(plan_id="plan-monthly"))).permitted


def test_the_plan_id_may_be_passed_and_an_offer_without_one_is_refused() -> None:
    body = PricingPlan.model_validate(MONTHLY)
    offer = plan_policy(body, offer_id="urn:offer:1", assigner=HALDEN, product_id=PRODUCT,
                        plan_id="plan-9")  # fmt: skip
    claims = [c for c in to_dsp(offer)["permission"][0]["constraint"]
              if c["leftOperand"] == "dst:claim/DataProductPurchaseCredential/plan"]
    assert [c["rightOperand"] for c in claims] == ["plan-9"]
    with pytest.raises(ValueError, match="names the plan"):
        plan_policy(body, offer_id="urn:offer:1", assigner=HALDEN, product_id=PRODUCT)
