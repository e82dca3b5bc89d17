"""Rating: plans and usage into charges (VAT, stable ids).

* **Charges.** :func:`one_time_charge`, :func:`period_charge` and
  :func:`rate_usage` each return one :class:`Charge`: an amount excluding
  VAT and its VAT, in whole minor units of the plan's currency. A free plan,
  or usage within the included quota, gives a charge of 0 (the caller may
  leave it off a bill). A charge's ``id`` is derived from what it bills (its
  kind, the ``source`` — a usage report id, an order id — and, for a period,
  the period's start), never random: a usage report sent twice rates to the
  same id, and the store keeps one charge per id.
* **Usage.** Units are counted per period (:func:`period_containing`): the
  first ``includedQuota`` units of a period cost nothing, and the tiers
  apply to each unit's position in the period, so a report that crosses a
  tier boundary is priced partly in each tier. A report is rated with how
  much was already used in its period (``already_used_in_period``). The
  exact amount (units × price ÷ ``unitOfMeasure.amount``) is rounded once,
  to the nearest minor unit, halves up.
* **Periods** are calendar months or years from the subscription's start
  (:mod:`marketplace.domain.periods`; re-exported here). There is no
  proration: a period is charged whole.
* **VAT.** Each charge's VAT is its own amount × rate, rounded once to a
  minor unit (ROUND_HALF_UP); a bill's VAT is the sum of its lines' VAT.

Bills and payouts of these charges are :mod:`marketplace.domain.billing`'s.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict

from marketplace.domain.money import (
    MAX_AMOUNT,
    Currency,
    Money,
    json_number,
    money_json,
    round_minor,
    vat_minor,
)
from marketplace.domain.periods import add_months, period_bounds, period_containing
from marketplace.domain.pricing import PriceType, PricingPlan, Quantity, UsageUnit
from servicekit.errors import InvalidRequest

__all__ = [
    "CHARGE_NAMESPACE",
    "Charge",
    "ChargeKind",
    "RatedUnits",
    "add_months",
    "charge_id",
    "one_time_charge",
    "period_bounds",
    "period_charge",
    "period_containing",
    "rate_usage",
    "usage_quantity",
]

#: The UUID namespace of charge ids (UUID v5 of kind, source and part).
CHARGE_NAMESPACE = uuid.UUID("3d0c52a4-6a2e-5b8e-9c57-1f0b6c0a9d21")
_BYTES_PER_MB = Decimal(1_000_000)


class ChargeKind(StrEnum):
    """What a charge bills: the plan's ``priceType``."""

    ONE_TIME = "oneTime"
    RECURRING = "recurring"
    USAGE = "usage"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RatedUnits(_Frozen):
    """Part of a usage charge: ``units`` at ``unit_price`` per ``unitOfMeasure`` (0 if free)."""

    units: Decimal
    unit_price: Money
    included: bool = False
    """Inside the included quota."""


class Charge(_Frozen):
    """One billable amount (TMF678 ``AppliedCustomerBillingRate``), in minor units."""

    id: str
    kind: ChargeKind
    source: str
    provider: str
    description: str
    currency: Currency
    net_minor: int
    """Excluding VAT."""
    vat_rate: Decimal
    vat_minor: int
    quantity: Decimal = Decimal(1)
    """Units reported (usage), else 1."""
    chargeable: Decimal = Decimal(1)
    """Units above the included quota (usage), else 1."""
    unit: UsageUnit | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    breakdown: tuple[RatedUnits, ...] = ()

    @property
    def gross_minor(self) -> int:
        """Including VAT."""
        return self.net_minor + self.vat_minor

    def tmf_price(self) -> dict[str, Any]:
        """TMF ``Price``: ``dutyFreeAmount``, ``taxIncludedAmount`` (Money) and ``taxRate``."""
        return {
            "dutyFreeAmount": money_json(self.net_minor, self.currency),
            "taxIncludedAmount": money_json(self.gross_minor, self.currency),
            "taxRate": json_number(self.vat_rate),
        }


def charge_id(kind: ChargeKind, source: str, part: str = "") -> str:
    """The stable id of the ``kind`` charge for ``source`` (and ``part``, e.g. a period)."""
    return "urn:uuid:" + str(uuid.uuid5(CHARGE_NAMESPACE, f"{kind.value}\n{source}\n{part}"))


def _require(plan: PricingPlan, kind: PriceType) -> None:
    if plan.price_type is not kind:
        raise InvalidRequest(f"plan {plan.name!r} is {plan.price_type}, not {kind}",
                             code="plan-type-mismatch")  # fmt: skip


def _charge(plan: PricingPlan, kind: ChargeKind, net_minor: int, *, source: str,
            provider: str, part: str = "", **fields: Any) -> Charge:  # fmt: skip
    return Charge(
        id=charge_id(kind, source, part), kind=kind, source=source, provider=provider,
        description=plan.name, currency=plan.currency, net_minor=net_minor,
        vat_rate=plan.vat_rate, vat_minor=vat_minor(net_minor, plan.vat_rate), **fields,
    )  # fmt: skip


def one_time_charge(plan: PricingPlan, *, source: str, provider: str) -> Charge:
    """The charge of a ``oneTime`` plan (0 for a free plan), once per ``source`` (the order)."""
    _require(plan, PriceType.ONE_TIME)
    return _charge(plan, ChargeKind.ONE_TIME, plan.price.minor, source=source, provider=provider)


def period_charge(plan: PricingPlan, start: datetime, *, source: str, provider: str,
                  index: int = 0) -> Charge:  # fmt: skip
    """The charge of period ``index`` of a ``recurring`` plan subscribed to at ``start``.

    ``source`` is the subscription (the order); the charge id also names the
    period, so each period is charged once.
    """
    _require(plan, PriceType.RECURRING)
    begins, ends = period_bounds(plan, start, index)
    return _charge(plan, ChargeKind.RECURRING, plan.price.minor, source=source,
                   provider=provider, part=begins.isoformat(), period_start=begins,
                   period_end=ends)  # fmt: skip


# -- usage ---------------------------------------------------------------------


def _measure(plan: PricingPlan) -> Quantity:
    _require(plan, PriceType.USAGE)
    if plan.unit_of_measure is None:  # a validated usage plan always has one
        raise InvalidRequest("a usage plan needs unitOfMeasure", code="plan-unit-missing")
    return plan.unit_of_measure


def _units(plan: PricingPlan, value: Decimal | int | str, what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidRequest(f"{what} is not a number", code="quantity-invalid") from None
    if not number.is_finite() or number > MAX_AMOUNT:
        raise InvalidRequest(f"{what} is out of range", code="quantity-invalid")
    if number < 0:
        raise InvalidRequest(f"{what} is negative", code="quantity-negative")
    calls = plan.unit_of_measure is not None and plan.unit_of_measure.units is UsageUnit.CALL
    decimals = 0 if calls else 6  # whole calls; megabytes to the byte
    if number.scaleb(decimals) != number.scaleb(decimals).to_integral_value():
        raise InvalidRequest(f"{what} has more than {decimals} decimals", code="quantity-invalid")
    return number


def usage_quantity(plan: PricingPlan, *, requests: int, bytes_: int) -> Decimal:
    """What a usage report (requests served, bytes sent) counts in ``plan``'s unit.

    Calls are requests; MB are 10^6 bytes (SI megabytes), to the byte.
    """
    if _measure(plan).units is UsageUnit.CALL:
        return Decimal(requests)
    return Decimal(bytes_) / _BYTES_PER_MB


def _cuts(plan: PricingPlan) -> set[Decimal]:
    cuts = {Decimal(plan.included_quota or 0)}
    for tier in plan.usage_tiers:
        cuts.add(Decimal(tier.from_quantity))
        if tier.to_quantity is not None:
            cuts.add(Decimal(tier.to_quantity))
    return cuts


def _segments(plan: PricingPlan, first: Decimal, last: Decimal) -> tuple[RatedUnits, ...]:
    quota = Decimal(plan.included_quota or 0)
    free = Money.of_minor(0, plan.currency)
    points = sorted({first, last} | {c for c in _cuts(plan) if first < c < last})
    parts = []
    for start, end in pairwise(points):
        included = start < quota
        price = free if included else plan.unit_price_of(start)
        parts.append(RatedUnits(units=end - start, unit_price=price, included=included))
    return tuple(parts)


def rate_usage(
    plan: PricingPlan,
    quantity: Decimal | int | str,
    already_used_in_period: Decimal | int | str = 0,
    *,
    source: str,
    provider: str,
    period: tuple[datetime, datetime] | None = None,
) -> Charge:
    """One charge for ``quantity`` units used on a ``usage`` plan, after the quota and by tier.

    ``source`` is the usage report's id (so a report re-sent rates to the same
    charge id); ``period`` its billing period, recorded on the charge.
    """
    measure = _measure(plan)
    used = _units(plan, already_used_in_period, "already_used_in_period")
    count = _units(plan, quantity, "quantity")
    parts = _segments(plan, used, used + count)
    exact = sum((p.units * p.unit_price.minor for p in parts), Decimal(0))
    net = round_minor(exact / measure.amount)
    chargeable = sum((p.units for p in parts if not p.included), Decimal(0))
    begins, ends = period if period is not None else (None, None)
    return _charge(plan, ChargeKind.USAGE, net, source=source, provider=provider,
                   quantity=count, chargeable=chargeable, unit=measure.units,
                   breakdown=parts, period_start=begins, period_end=ends)  # fmt: skip
