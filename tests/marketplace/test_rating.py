"""Rating usage and periods into charges; bills per currency; payouts to providers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain.billing import build_bill, payout
from marketplace.domain.money import Currency
from marketplace.domain.pricing import PricingPlan
from marketplace.domain.rating import (
    Charge,
    ChargeKind,
    add_months,
    charge_id,
    one_time_charge,
    period_bounds,
    period_charge,
    period_containing,
    rate_usage,
    usage_quantity,
)
from servicekit.errors import InvalidRequest

HALDEN = "did:web:halden.kommune.no"
BODO = "did:web:bodo.kommune.no"
REPORT = "urn:usage:7f3a"


def usage_plan(**changes: Any) -> PricingPlan:
    body: dict[str, Any] = {
        "name": "Pay per call", "priceType": "usage", "price": {"unit": "NOK", "value": "0.50"},
        "unitOfMeasure": {"amount": 1, "units": "call"}, "tax": [{"taxRate": 25}],
    }  # fmt: skip
    body.update(changes)
    return PricingPlan.model_validate(body)


def recurring(**changes: Any) -> PricingPlan:
    body: dict[str, Any] = {"name": "Monthly", "priceType": "recurring",
                            "price": {"unit": "NOK", "value": 990},
                            "recurringChargePeriodType": "month"}  # fmt: skip
    body.update(changes)
    return PricingPlan.model_validate(body)


def nok(value: str) -> dict[str, str]:
    return {"unit": "NOK", "value": value}


def rate(plan: PricingPlan, quantity: Any, used: Any = 0, source: str = REPORT) -> Charge:
    return rate_usage(plan, quantity, used, source=source, provider=HALDEN)


# -- usage ---------------------------------------------------------------------------


def test_1234_calls_are_one_charge_of_the_unit_price_above_the_quota() -> None:
    charge = rate(usage_plan(includedQuota=100), 1234)
    assert charge.kind is ChargeKind.USAGE
    assert charge.quantity == 1234
    assert charge.chargeable == 1134
    assert charge.net_minor == 1134 * 50  # 567.00 NOK
    assert charge.vat_minor == 14175  # 25 %: 141.75 NOK
    assert charge.gross_minor == 70875
    assert charge.tmf_price() == {
        "dutyFreeAmount": {"unit": "NOK", "value": 567},
        "taxIncludedAmount": {"unit": "NOK", "value": 708.75},
        "taxRate": 25,
    }
    assert [(int(p.units), p.unit_price.minor, p.included) for p in charge.breakdown] == [
        (100, 0, True), (1134, 50, False)
    ]  # fmt: skip
    # without a quota every call is charged
    assert rate(usage_plan(), 1234).net_minor == 1234 * 50


def test_the_quota_is_per_period_and_counts_earlier_reports() -> None:
    quota = usage_plan(includedQuota=100)
    assert rate(quota, 1234, used=50).chargeable == 1184
    assert rate(quota, 1234, used=100).chargeable == 1234
    within = rate(quota, 40, used=50)
    assert within.net_minor == 0
    assert within.vat_minor == 0
    assert within.chargeable == 0


def test_tiers_apply_to_positions_in_the_period_across_a_report() -> None:
    graduated = usage_plan(usageTiers=[
        {"fromQuantity": 0, "toQuantity": 1000, "price": nok("0.50")},
        {"fromQuantity": 1000, "toQuantity": 5000, "price": nok("0.40")},
        {"fromQuantity": 5000, "price": nok("0.30")},
    ])  # fmt: skip
    charge = rate(graduated, 4500, used=900)  # units 900..5399 of the period
    assert [(int(p.units), p.unit_price.minor) for p in charge.breakdown] == [
        (100, 50), (4000, 40), (400, 30)
    ]  # fmt: skip
    assert charge.net_minor == 100 * 50 + 4000 * 40 + 400 * 30  # 1 770.00 NOK
    # the same units reported in two reports cost the same in total
    first, second = rate(graduated, 2000, used=900), rate(graduated, 2500, used=2900)
    assert first.net_minor + second.net_minor == charge.net_minor


def test_quota_inside_tiers_and_gaps_at_the_plan_price() -> None:
    mixed = usage_plan(includedQuota=150, price=nok("1.00"), usageTiers=[
        {"fromQuantity": 0, "toQuantity": 100, "price": nok("0.50")},
        {"fromQuantity": 200, "price": nok("0.20")},
    ])  # fmt: skip
    charge = rate(mixed, 300)
    assert [(int(p.units), p.unit_price.minor, p.included) for p in charge.breakdown] == [
        (100, 0, True), (50, 0, True), (50, 100, False), (100, 20, False)
    ]  # fmt: skip
    assert charge.net_minor == 50 * 100 + 100 * 20


def test_price_per_thousand_calls_rounds_once_half_up() -> None:
    per_thousand = usage_plan(price=nok("5.00"), unitOfMeasure={"amount": 1000, "units": "call"})
    assert rate(per_thousand, 1234).net_minor == 617  # 6.17 exactly
    assert rate(per_thousand, 1235).net_minor == 618  # 6.175 -> 6.18
    assert rate(per_thousand, 1).net_minor == 1  # 0.005 -> 0.01
    assert rate(per_thousand, 0).net_minor == 0


def test_vat_is_rounded_per_line_half_up() -> None:
    cheap = usage_plan(price=nok("0.01"), tax=[{"taxRate": 25}])
    assert rate(cheap, 1).vat_minor == 0  # 0.25 øre
    assert rate(cheap, 2).vat_minor == 1  # 0.5 øre rounds up
    assert rate(cheap, 6).vat_minor == 2  # 1.5 øre rounds up
    food = usage_plan(price=nok("0.01"), tax=[{"taxRate": "12.5"}])
    assert rate(food, 4).vat_minor == 1  # 0.5 øre rounds up
    exempt = usage_plan(tax=[{"taxRate": 0}])
    assert rate(exempt, 1234).vat_minor == 0


def test_megabytes_are_counted_to_the_byte() -> None:
    per_mb = usage_plan(price=nok("1.00"), unitOfMeasure={"units": "MB"})
    quantity = usage_quantity(per_mb, requests=3, bytes_=1_234_567)
    assert quantity == Decimal("1.234567")
    charge = rate(per_mb, quantity)
    assert charge.net_minor == 123  # 123.4567 øre
    assert charge.unit is not None
    assert charge.unit.value == "MB"
    assert usage_quantity(usage_plan(), requests=3, bytes_=1_234_567) == 3


def test_charge_ids_are_derived_from_their_source() -> None:
    plan = usage_plan()
    assert rate(plan, 10).id == rate(plan, 99, used=5).id  # a re-sent report: the same charge
    assert rate(plan, 10).id != rate(plan, 10, source="urn:usage:other").id
    assert charge_id(ChargeKind.USAGE, REPORT) == rate(plan, 10).id
    assert charge_id(ChargeKind.ONE_TIME, REPORT) != charge_id(ChargeKind.USAGE, REPORT)
    assert rate(plan, 10).id.startswith("urn:uuid:")


@pytest.mark.parametrize(
    ("quantity", "used", "code"),
    [
        (-1, 0, "quantity-negative"),
        (1, -5, "quantity-negative"),
        ("1.5", 0, "quantity-invalid"),  # calls are whole
        ("many", 0, "quantity-invalid"),
        ("Infinity", 0, "quantity-invalid"),
        (10**13, 0, "quantity-invalid"),
    ],
)
def test_bad_usage_is_refused(quantity: Any, used: Any, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        rate(usage_plan(), quantity, used)
    assert caught.value.code == code


def test_a_plan_is_rated_only_as_what_it_is() -> None:
    for call in (lambda: rate(recurring(), 10),
                 lambda: one_time_charge(usage_plan(), source="o", provider=HALDEN),
                 lambda: period_charge(usage_plan(), datetime(2026, 1, 1, tzinfo=UTC),
                                       source="o", provider=HALDEN),
                 lambda: usage_quantity(recurring(), requests=1, bytes_=1)):  # fmt: skip
        with pytest.raises(InvalidRequest) as caught:
            call()
        assert caught.value.code == "plan-type-mismatch"


@settings(max_examples=150, deadline=None)
@given(
    used=st.integers(0, 20_000),
    first=st.integers(0, 10_000),
    second=st.integers(0, 10_000),
    quota=st.integers(0, 3_000),
)
def test_splitting_a_report_never_changes_the_total(
    used: int, first: int, second: int, quota: int
) -> None:
    plan = usage_plan(includedQuota=quota, usageTiers=[
        {"fromQuantity": 0, "toQuantity": 1000, "price": nok("0.50")},
        {"fromQuantity": 1000, "toQuantity": 5000, "price": nok("0.40")},
        {"fromQuantity": 9000, "price": nok("0.10")},
    ])  # fmt: skip
    whole = rate(plan, first + second, used)
    parts = rate(plan, first, used).net_minor + rate(plan, second, used + first).net_minor
    assert parts == whole.net_minor
    assert whole.chargeable == max(0, used + first + second - max(quota, used))
    assert sum(p.units for p in whole.breakdown) == first + second


# -- periods ---------------------------------------------------------------------------


def test_months_end_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(datetime(2025, 1, 31, 12, tzinfo=UTC), 1) == datetime(2025, 2, 28, 12,
                                                                            tzinfo=UTC)
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2025, 11, 30, tzinfo=UTC), 3) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)


def test_periods_are_counted_from_the_anchor_without_drift() -> None:
    anchor = datetime(2025, 1, 31, tzinfo=UTC)
    plan = recurring()
    assert period_bounds(plan, anchor, 0) == (anchor, datetime(2025, 2, 28, tzinfo=UTC))
    assert period_bounds(plan, anchor, 1) == (datetime(2025, 2, 28, tzinfo=UTC),
                                              datetime(2025, 3, 31, tzinfo=UTC))  # fmt: skip
    yearly = recurring(recurringChargePeriodType="year")
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert period_bounds(yearly, leap, 1) == (datetime(2025, 2, 28, tzinfo=UTC),
                                              datetime(2026, 2, 28, tzinfo=UTC))  # fmt: skip
    assert period_bounds(yearly, leap, 4)[0] == datetime(2028, 2, 29, tzinfo=UTC)
    quarterly = recurring(recurringChargePeriodLength=3)
    assert period_bounds(quarterly, anchor, 1)[1] == datetime(2025, 7, 31, tzinfo=UTC)


def test_the_period_containing_a_moment() -> None:
    anchor = datetime(2025, 1, 31, 10, tzinfo=UTC)
    plan = usage_plan()  # usage quotas restart monthly
    assert period_containing(plan, anchor, anchor) == (0, anchor, add_months(anchor, 1))
    index, start, end = period_containing(plan, anchor, datetime(2025, 2, 28, 9, tzinfo=UTC))
    assert index == 0
    assert start <= datetime(2025, 2, 28, 9, tzinfo=UTC) < end
    index, start, end = period_containing(plan, anchor, datetime(2025, 2, 28, 10, tzinfo=UTC))
    assert (index, start) == (1, datetime(2025, 2, 28, 10, tzinfo=UTC))
    index, start, _ = period_containing(plan, anchor, datetime(2027, 1, 1, tzinfo=UTC))
    assert (index, start) == (23, datetime(2026, 12, 31, 10, tzinfo=UTC))
    with pytest.raises(InvalidRequest) as caught:
        period_containing(plan, anchor, datetime(2025, 1, 1, tzinfo=UTC))
    assert caught.value.code == "period-invalid"


def test_each_period_is_charged_whole_and_once() -> None:
    start = datetime(2025, 1, 31, tzinfo=UTC)
    plan = recurring()
    first = period_charge(plan, start, source="urn:order:1", provider=HALDEN)
    second = period_charge(plan, start, source="urn:order:1", provider=HALDEN, index=1)
    assert first.net_minor == second.net_minor == 99000  # no proration of the short February
    assert first.vat_minor == 24750
    assert (first.period_start, first.period_end) == (start, datetime(2025, 2, 28, tzinfo=UTC))
    assert second.period_end == datetime(2025, 3, 31, tzinfo=UTC)
    assert first.id != second.id
    assert first.id == period_charge(plan, start, source="urn:order:1", provider=HALDEN).id


def test_one_time_and_free_charges() -> None:
    once = PricingPlan.model_validate({"name": "Buy", "priceType": "oneTime",
                                       "price": {"unit": "EUR", "value": "1000.00"},
                                       "tax": [{"taxRate": 15}]})  # fmt: skip
    charge = one_time_charge(once, source="urn:order:2", provider=HALDEN)
    assert (charge.currency, charge.net_minor, charge.vat_minor) == (Currency.EUR, 100000, 15000)
    free = PricingPlan.model_validate({"name": "Free", "priceType": "oneTime",
                                       "price": {"unit": "NOK", "value": 0}})  # fmt: skip
    zero = one_time_charge(free, source="urn:order:3", provider=HALDEN)
    assert zero.net_minor == zero.vat_minor == 0


# -- bills and payouts ---------------------------------------------------------------


def _charges() -> list[Charge]:
    food = usage_plan(tax=[{"taxRate": 15}])
    eur = recurring(price={"unit": "EUR", "value": "10.00"})
    return [
        rate(usage_plan(), 1234, source="urn:usage:1"),  # 617.00 + 154.25
        rate_usage(food, 101, source="urn:usage:2", provider=BODO),  # 50.50 + 7.58 (7.575)
        period_charge(eur, datetime(2026, 1, 1, tzinfo=UTC), source="urn:order:9",
                      provider=HALDEN),  # 10.00 + 2.50 EUR
    ]  # fmt: skip


def test_a_bill_groups_lines_per_currency_with_totals() -> None:
    bill = build_bill(_charges())
    assert [s.currency for s in bill.sections] == [Currency.EUR, Currency.NOK]
    nok_section = bill.section(Currency.NOK)
    assert nok_section is not None
    assert [c.source for c in nok_section.charges] == ["urn:usage:1", "urn:usage:2"]
    assert nok_section.tax_excluded_minor == 61700 + 5050
    assert nok_section.tax_minor == 15425 + 758
    assert nok_section.tax_included_minor == 61700 + 5050 + 15425 + 758
    assert [(int(t.tax_rate), t.taxable_minor, t.tax_minor) for t in nok_section.taxes] == [
        (25, 61700, 15425), (15, 5050, 758)
    ]  # fmt: skip
    assert nok_section.tmf_amounts() == {
        "taxExcludedAmount": {"unit": "NOK", "value": 667.5},
        "taxIncludedAmount": {"unit": "NOK", "value": 829.33},
        "amountDue": {"unit": "NOK", "value": 829.33},
        "taxItem": [
            {"taxCategory": "VAT", "taxRate": 25, "taxAmount": {"unit": "NOK", "value": 154.25}},
            {"taxCategory": "VAT", "taxRate": 15, "taxAmount": {"unit": "NOK", "value": 7.58}},
        ],
    }
    eur_section = bill.section(Currency.EUR)
    assert eur_section is not None
    assert eur_section.tax_included_minor == 1250
    assert build_bill([]).sections == ()
    with pytest.raises(ValueError, match="twice"):
        build_bill([*_charges(), _charges()[0]])


def test_payouts_are_owed_per_provider_less_the_operators_fee() -> None:
    result = payout(_charges(), "7.5")
    rows = {(p.provider, p.currency): p for p in result.providers}
    halden_nok = rows[(HALDEN, Currency.NOK)]
    assert halden_nok.sales_minor == 61700
    assert halden_nok.vat_minor == 15425
    assert halden_nok.fee_minor == 4628  # 4627.5 øre rounds up
    assert halden_nok.payable_minor == 61700 + 15425 - 4628
    assert rows[(BODO, Currency.NOK)].fee_minor == 379  # 378.75
    assert rows[(HALDEN, Currency.EUR)].fee_minor == 75
    for row in result.providers:
        assert row.payable_minor + row.fee_minor == row.sales_minor + row.vat_minor
    assert result.fees(Currency.NOK) == 4628 + 379
    assert payout(_charges(), 0).fees(Currency.NOK) == 0


@pytest.mark.parametrize("fee", [-1, 100.5, "101", "2.555", "abc"])
def test_an_invalid_fee_is_refused(fee: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        payout(_charges(), fee)
    assert caught.value.code == "fee-percent-invalid"
