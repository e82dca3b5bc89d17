"""Pricing plans: a TM Forum TMF620 ``ProductOfferingPrice`` per plan, and its checks.

A data product is offered on one or more plans; the buyer picks one when
ordering. :class:`PricingPlan` *is* the plan's TMF620 v4 ``ProductOfferingPrice``
in its JSON form (camelCase on the wire, snake_case in Python):

* ``priceType`` ``oneTime`` (pay once), ``recurring`` (pay every
  ``recurringChargePeriodLength`` × ``recurringChargePeriodType``, ``month``
  or ``year``) or ``usage`` (pay per ``unitOfMeasure``: ``{"amount": 1000,
  "units": "call"}`` prices a thousand calls; ``units`` is ``call`` or ``MB``).
  TMF has no "free" price type: **a free plan is ``oneTime`` at 0**
  (:attr:`PricingPlan.is_free`), which rates to a zero charge.
* ``price`` is the TMF ``Money`` of one charge (one period, one unit of
  measure), excluding VAT; ``tax`` is TMF's ``TaxItem`` list with one
  ``VAT`` item whose ``taxRate`` is a percentage (25 when not given, the
  Norwegian standard rate). Only NOK and EUR, in whole øre/cents.
* ``@type`` is ``DataProductPlan`` with ``@baseType`` ``ProductOfferingPrice``
  (TMF's extension pattern); a body may also say ``ProductOfferingPrice``.
  The extension's own members: ``includedQuota`` (units per period that
  cost nothing), ``usageTiers``, ``usageLimit`` (calls per period the offer
  allows), ``purpose`` (purposes the offer allows), ``autoRenew`` and
  ``noticePeriodDays`` (recurring plans).
* Tiers: TMF620 would make each tier a ``ProductOfferingPrice`` of its own,
  bundled under this one by reference (``isBundle``, ``bundledPopRelationship``).
  A plan's tiers have no life apart from it, so they travel inline as
  ``usageTiers`` (``[{"fromQuantity": 0, "toQuantity": 10000, "price": ...}]``):
  positions of units *within the period*, ``fromQuantity`` inclusive,
  ``toQuantity`` exclusive (open-ended when left out), ascending, not
  overlapping; units outside every tier cost ``price``. ``isBundle`` stays
  ``false``, ``percentage`` (discounts) empty or 0. Quota and tiers restart
  every period: ``recurringChargePeriodType`` × length if stated, else a month.

Bad input raises :class:`~servicekit.errors.InvalidRequest` with a stable code
(``price-negative``, ``price-precision``, ``price-invalid``, ``currency-unknown``,
``currency-mismatch``, ``vat-rate-invalid``, ``plan-period-missing``,
``plan-unit-missing``, ``plan-incoherent``, ``tiers-invalid``, ``usage-limit-invalid``,
``period-invalid``) straight through pydantic, rendered as problem+json 400;
shape errors are pydantic's (``validation-failed``).

:func:`plan_policy` is the ODRL offer the provider's connector carries for a
plan (see its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from marketplace.domain.money import Amount, Currency, Money, check_percent
from policies import Policy
from policies.presets import (
    PlanTerms,
    calls_per_period,
    metered,
    pay_per_use,
    plan_offer,
    purchase,
    research_use,
    subscription,
)
from servicekit.errors import InvalidRequest

__all__ = [
    "BASE_TYPE",
    "PLAN_TYPE",
    "STANDARD_VAT_RATE",
    "PeriodType",
    "PriceType",
    "PricingPlan",
    "Quantity",
    "TaxItem",
    "TimePeriod",
    "UsageLimit",
    "UsageTier",
    "UsageUnit",
    "plan_policy",
]

PLAN_TYPE = "DataProductPlan"
BASE_TYPE = "ProductOfferingPrice"
#: Norway's standard VAT rate (merverdiavgift), the default ``taxRate``.
STANDARD_VAT_RATE = Decimal(25)
_MAX_UNITS = 10**15
_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


class PriceType(StrEnum):
    """TMF620 ``priceType``: how a plan charges."""

    ONE_TIME = "oneTime"
    RECURRING = "recurring"
    USAGE = "usage"


class PeriodType(StrEnum):
    """TMF620 ``recurringChargePeriodType`` (calendar periods)."""

    MONTH = "month"
    YEAR = "year"

    @property
    def months(self) -> int:
        """Calendar months in one period."""
        return 12 if self is PeriodType.YEAR else 1


class UsageUnit(StrEnum):
    """What a usage plan counts (``unitOfMeasure.units``)."""

    CALL = "call"
    MB = "MB"


class _Tmf(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _incoherent(detail: str, code: str = "plan-incoherent") -> InvalidRequest:
    return InvalidRequest(detail, code=code)


class Quantity(_Tmf):
    """TMF ``Quantity``: the unit of measure a usage price is for (``1000`` ``call``)."""

    model_config = ConfigDict(frozen=True)

    amount: int = Field(1, ge=1, le=1_000_000_000, description="Units one price is for.")
    units: UsageUnit = Field(description="call or MB (10^6 bytes).")


class TimePeriod(_Tmf):
    """TMF ``TimePeriod``: from ``startDateTime`` (inclusive) to ``endDateTime`` (exclusive)."""

    model_config = ConfigDict(frozen=True)

    start_date_time: AwareDatetime | None = None
    end_date_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimePeriod:
        start, end = self.start_date_time, self.end_date_time
        if start is not None and end is not None and start >= end:
            raise _incoherent("validFor must start before it ends", "period-invalid")
        return self


class TaxItem(_Tmf):
    """TMF ``TaxItem`` of a price: the VAT rate, in percent (0 to 100, two decimals)."""

    model_config = ConfigDict(frozen=True)

    tax_category: str = Field("VAT", description="Always VAT (merverdiavgift).")
    tax_rate: Amount = Field(STANDARD_VAT_RATE, description="Percent: 25, 15, 12 or 0 in Norway.")

    @field_validator("tax_category")
    @classmethod
    def _vat(cls, value: str) -> str:
        if value != "VAT":
            raise _incoherent("the only tax category is VAT", "vat-rate-invalid")
        return value

    @field_validator("tax_rate")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        return check_percent(value, code="vat-rate-invalid", what="taxRate")


class UsageTier(_Tmf):
    """A graduated tier: units ``fromQuantity`` ≤ n < ``toQuantity`` of a period cost ``price``."""

    model_config = ConfigDict(frozen=True)

    from_quantity: int = Field(0, ge=0, le=_MAX_UNITS)
    to_quantity: int | None = Field(None, ge=1, le=_MAX_UNITS)
    price: Money = Field(description="Price per unitOfMeasure within this tier, excl. VAT.")

    @model_validator(mode="after")
    def _nonempty(self) -> UsageTier:
        if self.to_quantity is not None and self.to_quantity <= self.from_quantity:
            raise _incoherent("a tier's toQuantity must be above its fromQuantity", "tiers-invalid")
        return self

    def covers(self, position: Decimal) -> bool:
        """Whether the unit at ``position`` (0-based, within the period) is in this tier."""
        return self.from_quantity <= position and (
            self.to_quantity is None or position < self.to_quantity
        )


class UsageLimit(_Tmf):
    """At most ``count`` calls per ``period`` (an ISO 8601 duration such as ``P1D``, ``P1M``)."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=1, le=1_000_000_000)
    period: str = Field("P1M", max_length=32)

    @field_validator("period")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise _incoherent(f"{value[:32]!r}: not a duration", "usage-limit-invalid")
        return value


class PricingPlan(_Tmf):
    """A pricing plan: the TMF620 ``ProductOfferingPrice`` of one way to buy a data product."""

    id: str | None = Field(None, max_length=200)
    href: str | None = Field(None, max_length=2000)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    version: str | None = Field(None, max_length=50)
    price_type: PriceType
    price: Money
    tax: list[TaxItem] = Field(default_factory=lambda: [TaxItem()], min_length=1, max_length=1)
    recurring_charge_period_type: PeriodType | None = None
    recurring_charge_period_length: int | None = Field(None, ge=1, le=120)
    unit_of_measure: Quantity | None = None
    percentage: Amount | None = None
    is_bundle: bool = False
    lifecycle_status: str = Field("Active", min_length=1, max_length=32)
    valid_for: TimePeriod | None = None
    last_update: AwareDatetime | None = None
    type: str = Field(PLAN_TYPE, alias="@type", max_length=64)
    base_type: str = Field(BASE_TYPE, alias="@baseType", max_length=64)
    schema_location: str | None = Field(None, alias="@schemaLocation", max_length=2000)
    included_quota: int | None = Field(None, ge=0, le=_MAX_UNITS)
    usage_tiers: list[UsageTier] = Field(default_factory=list, max_length=20)
    usage_limit: UsageLimit | None = None
    purpose: list[str] = Field(default_factory=list, max_length=20)
    auto_renew: bool | None = None
    notice_period_days: int | None = Field(None, ge=0, le=366)

    @field_validator("type")
    @classmethod
    def _our_type(cls, value: str) -> str:
        if value not in (PLAN_TYPE, BASE_TYPE):
            raise _incoherent(f"@type must be {PLAN_TYPE} or {BASE_TYPE}")
        return PLAN_TYPE

    @field_validator("base_type")
    @classmethod
    def _base(cls, value: str) -> str:
        if value != BASE_TYPE:
            raise _incoherent(f"@baseType must be {BASE_TYPE}")
        return value

    @field_validator("purpose")
    @classmethod
    def _purposes(cls, value: list[str]) -> list[str]:
        if any(not p or len(p) > 500 or not re.match(r"^[A-Za-z][\w+.-]*:\S+$", p) for p in value):
            raise _incoherent("each purpose must be an IRI")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PricingPlan:
        if self.is_bundle:
            raise _incoherent("bundled prices are not supported; list tiers in usageTiers")
        if self.percentage not in (None, Decimal(0)):
            raise _incoherent("percentage (discount) prices are not supported")
        _CHECKS[self.price_type](self)
        return self

    # -- derived facts -----------------------------------------------------------

    @property
    def currency(self) -> Currency:
        """The plan's currency (its tiers are in the same one)."""
        return self.price.unit

    @property
    def vat_rate(self) -> Decimal:
        """The VAT rate in percent."""
        return self.tax[0].tax_rate

    @property
    def period_months(self) -> int:
        """Calendar months in one charge period (for usage: the quota period; default 1)."""
        kind = self.recurring_charge_period_type or PeriodType.MONTH
        return kind.months * (self.recurring_charge_period_length or 1)

    @property
    def is_free(self) -> bool:
        """A plan that never costs anything (TMF spelling: ``oneTime`` at 0)."""
        return self.price.value == 0 and all(t.price.value == 0 for t in self.usage_tiers)

    def to_tmf(self) -> dict[str, Any]:
        """The plan's TMF620 JSON, as the API answers it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def unit_price_of(self, position: Decimal) -> Money:
        """The price per ``unitOfMeasure`` of the unit at ``position`` (0-based) of a period."""
        for tier in self.usage_tiers:
            if tier.covers(position):
                return tier.price
        return self.price


def _no_usage_terms(plan: PricingPlan) -> None:
    if plan.unit_of_measure is not None or plan.included_quota is not None or plan.usage_tiers:
        raise _incoherent(f"a {plan.price_type} plan has no unitOfMeasure, quota or tiers")


def _check_one_time(plan: PricingPlan) -> None:
    _no_usage_terms(plan)
    if plan.recurring_charge_period_type or plan.recurring_charge_period_length:
        raise _incoherent("a oneTime plan has no recurring charge period")
    if plan.auto_renew is not None or plan.notice_period_days is not None:
        raise _incoherent("autoRenew and noticePeriodDays are for recurring plans")


def _check_recurring(plan: PricingPlan) -> None:
    _no_usage_terms(plan)
    if plan.recurring_charge_period_type is None:
        raise _incoherent("recurring needs recurringChargePeriodType", "plan-period-missing")
    if plan.recurring_charge_period_length is None:
        plan.recurring_charge_period_length = 1
    if plan.auto_renew is None:
        plan.auto_renew = True
    if plan.notice_period_days is None:
        plan.notice_period_days = 0


def _check_usage(plan: PricingPlan) -> None:
    if plan.unit_of_measure is None:
        raise _incoherent("a usage plan needs unitOfMeasure", "plan-unit-missing")
    if plan.auto_renew is not None or plan.notice_period_days is not None:
        raise _incoherent("autoRenew and noticePeriodDays are for recurring plans")
    previous_end: int | None = 0
    for tier in plan.usage_tiers:
        if tier.price.unit is not plan.currency:
            raise _incoherent("every tier is priced in the plan's currency", "currency-mismatch")
        if previous_end is None or tier.from_quantity < previous_end:
            raise _incoherent("tiers must be ascending, not overlapping", "tiers-invalid")
        previous_end = tier.to_quantity


_CHECKS = {
    PriceType.ONE_TIME: _check_one_time,
    PriceType.RECURRING: _check_recurring,
    PriceType.USAGE: _check_usage,
}


def plan_policy(
    plan: PricingPlan,
    *,
    offer_id: str,
    assigner: str,
    product_id: str,
    plan_id: str | None = None,
    purpose: str | Sequence[str] | None = None,
    target: str | None = None,
    meter_endpoint: str | None = None,
    validity: TimePeriod | None = None,
) -> Policy:
    """The ODRL offer the provider's connector carries for ``plan`` of ``product_id``.

    It grants ``use`` to data-space members (a ``MembershipCredential``) who hold
    a ``DataProductPurchaseCredential`` (issued when an order on the plan completes,
    valid for the paid period) whose ``product`` claim is ``product_id`` and whose
    ``plan`` claim is ``plan_id`` (default ``plan.id``; none is a ``ValueError``): one
    plan's buyer cannot use another plan's offer. From the plan: at most
    ``usageLimit.count`` calls per ``usageLimit.period``; use only within ``validity``
    (default: the plan's ``validFor``); only for one of ``purpose`` (default: the
    plan's ``purpose``). A usage plan adds a ``dst:meter`` duty (to ``meter_endpoint``
    when given) so the connector reports the use for billing, and, when it is a
    flat price per call, the ``compensate`` duty stating that price per call.
    """
    if not (plan_id := plan_id or plan.id):
        raise ValueError("a plan's offer names the plan: register the plan first, pass its id")
    terms = purchase(product_id, plan=plan_id)
    if plan.usage_limit is not None:
        terms += calls_per_period(plan.usage_limit.count, plan.usage_limit.period)
    window = validity or plan.valid_for
    if window is not None and (window.start_date_time or window.end_date_time):
        terms += subscription(window.start_date_time, window.end_date_time)
    purposes = [purpose] if isinstance(purpose, str) else list(purpose or plan.purpose)
    if purposes:
        terms += research_use(purposes)
    if plan.price_type is PriceType.USAGE:
        terms += _usage_duties(plan, meter_endpoint)
    return plan_offer(terms, offer_id=offer_id, assigner=assigner, target=target)


def _usage_duties(plan: PricingPlan, meter_endpoint: str | None) -> PlanTerms:
    unit = plan.unit_of_measure
    flat = not plan.usage_tiers and not plan.included_quota and not plan.is_free
    if unit is not None and unit.units is UsageUnit.CALL and flat:
        per_call = plan.price.value / unit.amount
        return pay_per_use(per_call, plan.currency.value, meter_endpoint=meter_endpoint)
    return metered(meter_endpoint)

