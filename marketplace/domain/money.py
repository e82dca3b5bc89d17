"""Money: the currencies we bill in, TM Forum ``Money``, minor units, VAT and rounding.

* Currencies are ISO 4217 codes; the marketplace bills in ``NOK`` and
  ``EUR`` only, both with two decimals (øre, cent). Anything else is refused
  with ``currency-unknown``.
* On the wire an amount is the TM Forum ``Money`` object ``{"unit": "NOK",
  "value": 12.5}``: ``value`` is a JSON number (a string of digits is
  accepted too), read into a :class:`~decimal.Decimal`, never a float.
  Inside, amounts are whole **minor units** (``int``: 1250 øre), so sums are
  exact. A price with more decimals than its currency has is refused
  (``price-precision``), a negative one too (``price-negative``).
* VAT rates are percentages, ``0`` to ``100`` with at most two decimals
  (Norway: 25 standard, 15 food, 12 transport and culture, 0 exempt);
  anything else is ``vat-rate-invalid``.
* Rounding: every amount that is not already whole minor units (a usage
  line's total, a VAT amount, a fee) is rounded **once**, to the nearest minor
  unit, halves away from zero (``ROUND_HALF_UP``; amounts are never
  negative, so halves go up), as Norwegian invoices round.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from servicekit.errors import InvalidRequest

__all__ = [
    "MAX_AMOUNT",
    "Amount",
    "Currency",
    "Money",
    "check_percent",
    "currency",
    "from_minor",
    "json_number",
    "money_json",
    "round_minor",
    "to_minor",
    "vat_minor",
]

#: The largest amount a price, quantity or bill may state (in major units):
#: far above any real bill, and keeps every sum exact in ``Decimal`` arithmetic.
MAX_AMOUNT = Decimal(10) ** 12
_HUNDRED = Decimal(100)


class Currency(StrEnum):
    """The ISO 4217 currencies the marketplace bills in."""

    NOK = "NOK"
    EUR = "EUR"

    @property
    def decimals(self) -> int:
        """Digits after the decimal point (ISO 4217 minor unit): 2 for both."""
        return 2


def json_number(value: Decimal) -> int | float:
    """``value`` as a JSON number (TMF amounts and rates are numbers).

    Amounts here have a few decimals and far fewer than 15 significant
    digits, so the float prints them exactly.
    """
    return int(value) if value == value.to_integral_value() else float(value)


#: A decimal amount: a JSON number on the wire, a ``Decimal`` in Python.
Amount = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(json_number, return_type=float, when_used="json"),
]


def currency(code: Any) -> Currency:
    """``code`` as a :class:`Currency`; ``InvalidRequest`` (``currency-unknown``) otherwise."""
    try:
        return Currency(code)
    except ValueError:
        raise InvalidRequest(
            f"unknown currency {str(code)[:16]!r}: the marketplace bills in "
            + ", ".join(c.value for c in Currency),
            code="currency-unknown",
        ) from None


def _decimal(value: Decimal | int | str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidRequest(f"{str(value)[:32]!r} is not a number", code="price-invalid") from None
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise InvalidRequest(f"{str(value)[:32]!r} is out of range", code="price-invalid")
    return number


def to_minor(value: Decimal | int | str, unit: Currency) -> int:
    """``value`` (major units) as whole minor units; refuses negatives and extra decimals."""
    number = _decimal(value)
    if number < 0:
        raise InvalidRequest(f"the price {number} is negative", code="price-negative")
    scaled = number.scaleb(unit.decimals)
    if scaled != scaled.to_integral_value():
        raise InvalidRequest(
            f"{number} {unit} has more than {unit.decimals} decimals", code="price-precision"
        )
    return int(scaled)


def from_minor(minor: int, unit: Currency) -> Decimal:
    """Whole minor units as a major-unit ``Decimal`` with the currency's decimals (``12.50``)."""
    return Decimal(minor).scaleb(-unit.decimals)


def round_minor(amount_minor: Decimal) -> int:
    """An exact amount in minor units rounded to a whole one, halves up (``ROUND_HALF_UP``)."""
    return int(amount_minor.to_integral_value(rounding=ROUND_HALF_UP))


def vat_minor(net_minor: int, rate: Decimal) -> int:
    """The VAT on ``net_minor`` at ``rate`` percent, rounded once to a minor unit."""
    return round_minor(Decimal(net_minor) * rate / _HUNDRED)


def check_percent(value: Decimal | int | str, *, code: str, what: str) -> Decimal:
    """``value`` if it is a percentage 0..100 with at most two decimals, else ``InvalidRequest``."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        number = Decimal("NaN")
    ok = (
        number.is_finite()
        and 0 <= number <= _HUNDRED
        and number.scaleb(2) == number.scaleb(2).to_integral_value()
    )
    if not ok:
        raise InvalidRequest(
            f"{what} must be a percentage from 0 to 100 with at most two decimals",
            code=code,
        )
    return number


class Money(BaseModel):
    """TM Forum ``Money``: ``unit`` (ISO 4217) and ``value``, non-negative, in whole minor units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Currency = Field(description="ISO 4217 currency code: NOK or EUR.")
    value: Amount = Field(description="The amount in major units (12.5 is 12.50).")

    @field_validator("unit", mode="before")
    @classmethod
    def _known_currency(cls, value: Any) -> Currency:
        return currency(value)

    @model_validator(mode="after")
    def _whole_minor_units(self) -> Money:
        to_minor(self.value, self.unit)  # negative, out of range or too many decimals
        return self

    @property
    def minor(self) -> int:
        """The amount in whole minor units."""
        return to_minor(self.value, self.unit)

    @classmethod
    def of_minor(cls, minor: int, unit: Currency) -> Money:
        """``Money`` from whole minor units."""
        return cls(unit=unit, value=from_minor(minor, unit))


def money_json(minor: int, unit: Currency) -> dict[str, Any]:
    """TMF ``Money`` JSON of ``minor`` units: ``{"unit": "NOK", "value": 12.5}``."""
    return {"unit": unit.value, "value": json_number(from_minor(minor, unit))}
