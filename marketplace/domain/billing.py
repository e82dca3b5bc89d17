"""Bills and payouts: charges grouped into TMF678 bills per currency, and what providers are owed.

* **Bills.** :func:`build_bill` groups charges per currency, each with totals
  excluding and including VAT and the VAT per rate (as an invoice shows it).
  A billing run closes, per buyer and currency, every charge not yet billed
  into one TMF678 ``CustomerBill`` (its lines are ``AppliedCustomerBillingRate``
  resources). A bill's ``state`` moves along :data:`BILL_STATES` (the operator
  marks it ``sent``, ``settled``...).
* **Payouts.** :func:`payout` is what each provider is owed per currency: the
  provider is the seller, so it gets its sales including the VAT it must
  declare, less the operator's fee. The fee is a percentage (0 to 100, two
  decimals) of the sales *excluding* VAT, computed on each provider's total
  per currency and rounded once, halves up; payable + fee always equals
  sales + VAT. VAT on the fee is the operator's own invoice to the provider.
  A payout is ``pending`` until the operator has paid it (:class:`PayoutState`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from marketplace.domain.money import Currency, check_percent, json_number, money_json, round_minor
from marketplace.domain.rating import Charge
from servicekit.statemachine import TransitionTable

__all__ = [
    "BILL_STATES",
    "Bill",
    "BillPatch",
    "BillSection",
    "BillState",
    "Payout",
    "PayoutPatch",
    "PayoutState",
    "ProviderPayout",
    "TaxLine",
    "build_bill",
    "payout",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaxLine(_Frozen):
    """The VAT of one rate on a bill: the taxable amount and its VAT, in minor units."""

    tax_rate: Decimal
    taxable_minor: int
    tax_minor: int


class BillSection(_Frozen):
    """The charges of a bill in one currency, with their totals."""

    currency: Currency
    charges: tuple[Charge, ...]
    tax_excluded_minor: int
    tax_minor: int
    taxes: tuple[TaxLine, ...]

    @property
    def tax_included_minor(self) -> int:
        """What the buyer pays in this currency."""
        return self.tax_excluded_minor + self.tax_minor

    def tmf_amounts(self) -> dict[str, Any]:
        """TMF678 ``CustomerBill`` amounts: excluded, included, due and one ``taxItem`` per rate."""
        return {
            "taxExcludedAmount": money_json(self.tax_excluded_minor, self.currency),
            "taxIncludedAmount": money_json(self.tax_included_minor, self.currency),
            "amountDue": money_json(self.tax_included_minor, self.currency),
            "taxItem": [
                {"taxCategory": "VAT", "taxRate": json_number(t.tax_rate),
                 "taxAmount": money_json(t.tax_minor, self.currency)}
                for t in self.taxes
            ],
        }  # fmt: skip


class Bill(_Frozen):
    """Charges grouped per currency (sections in currency order)."""

    sections: tuple[BillSection, ...]

    def section(self, unit: Currency) -> BillSection | None:
        """The section in ``unit``, if the bill has one."""
        return next((s for s in self.sections if s.currency is unit), None)


def _unique(charges: Iterable[Charge]) -> list[Charge]:
    listed = list(charges)
    if len({c.id for c in listed}) != len(listed):
        raise ValueError("a charge is listed twice")
    return listed


def _section(unit: Currency, charges: list[Charge]) -> BillSection:
    rates: dict[Decimal, list[int]] = {}
    for charge in charges:
        taxable, tax = rates.setdefault(charge.vat_rate, [0, 0])
        rates[charge.vat_rate] = [taxable + charge.net_minor, tax + charge.vat_minor]
    return BillSection(
        currency=unit, charges=tuple(charges),
        tax_excluded_minor=sum(c.net_minor for c in charges),
        tax_minor=sum(c.vat_minor for c in charges),
        taxes=tuple(TaxLine(tax_rate=rate, taxable_minor=v[0], tax_minor=v[1])
                    for rate, v in sorted(rates.items(), reverse=True)),
    )  # fmt: skip


def build_bill(charges: Iterable[Charge]) -> Bill:
    """A bill of ``charges``: one section per currency, lines in the order given."""
    listed = _unique(charges)
    units = sorted({c.currency for c in listed})
    return Bill(sections=tuple(
        _section(unit, [c for c in listed if c.currency is unit]) for unit in units
    ))  # fmt: skip


class ProviderPayout(_Frozen):
    """What one provider is owed in one currency, in minor units."""

    provider: str
    currency: Currency
    sales_minor: int
    """Its charges excluding VAT."""
    vat_minor: int
    """The VAT on them (the provider declares it)."""
    fee_minor: int
    """The operator's fee on ``sales_minor``."""
    payable_minor: int
    """``sales_minor + vat_minor - fee_minor``."""


class Payout(_Frozen):
    """Every provider's payout at one fee rate (sorted by provider, then currency)."""

    fee_percent: Decimal
    providers: tuple[ProviderPayout, ...]

    def fees(self, unit: Currency) -> int:
        """The operator's fees in ``unit``, in minor units."""
        return sum(p.fee_minor for p in self.providers if p.currency is unit)


def payout(charges: Iterable[Charge], operator_fee_percent: Decimal | int | str) -> Payout:
    """What each provider is owed for ``charges``, less ``operator_fee_percent`` of the net."""
    percent = check_percent(operator_fee_percent, code="fee-percent-invalid",
                            what="the operator's fee")  # fmt: skip
    totals: dict[tuple[str, Currency], list[int]] = {}
    for charge in _unique(charges):
        sales, vat = totals.get((charge.provider, charge.currency), [0, 0])
        totals[(charge.provider, charge.currency)] = [sales + charge.net_minor,
                                                      vat + charge.vat_minor]
    rows = []
    for (provider, unit), (sales, vat) in sorted(totals.items()):
        fee = round_minor(Decimal(sales) * percent / 100)
        rows.append(ProviderPayout(provider=provider, currency=unit, sales_minor=sales,
                                   vat_minor=vat, fee_minor=fee,
                                   payable_minor=sales + vat - fee))
    return Payout(fee_percent=percent, providers=tuple(rows))


# -- states ----------------------------------------------------------------------------


class BillState(StrEnum):
    """TMF678 v4 ``CustomerBill.state`` (``CustomerBillStateType``: these six values)."""

    NEW = "new"
    ON_HOLD = "onHold"
    VALIDATED = "validated"
    SENT = "sent"
    PARTIALLY_PAID = "partiallyPaid"
    SETTLED = "settled"


#: Where a bill may go from each state (the operator moves it; ``settled`` is final).
BILL_STATES = TransitionTable(
    "customerBill",
    {
        BillState.NEW: {BillState.ON_HOLD, BillState.VALIDATED, BillState.SENT,
                        BillState.SETTLED},
        BillState.ON_HOLD: {BillState.NEW, BillState.VALIDATED, BillState.SENT},
        BillState.VALIDATED: {BillState.ON_HOLD, BillState.SENT, BillState.SETTLED},
        BillState.SENT: {BillState.ON_HOLD, BillState.PARTIALLY_PAID, BillState.SETTLED},
        BillState.PARTIALLY_PAID: {BillState.SETTLED},
    },
    initial={BillState.NEW},
    terminal={BillState.SETTLED},
)


class BillPatch(BaseModel):
    """What the operator may change on a bill (TMF678 PATCH, merge-patch): its state."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    state: BillState
    type: str | None = Field(None, alias="@type", max_length=64)  # "CustomerBill", as sent


class PayoutState(StrEnum):
    """A payout is ``pending`` until the operator has paid the provider."""

    PENDING = "pending"
    PAID = "paid"


class PayoutPatch(BaseModel):
    """The operator records that a payout was paid."""

    model_config = ConfigDict(extra="forbid")

    state: PayoutState
