"""How charges, bills and payouts are shown: TMF JSON bodies, CSV and a printable HTML page.

* :func:`rated_usage` is a usage report's TMF635 ``ratedProductUsage``;
  :func:`applied_rate_body` a charge as a TMF678 ``AppliedCustomerBillingRate``
  (a line of a bill); :func:`customer_bill_body` a TMF678 ``CustomerBill``;
  :func:`payout_body` a provider's payout.
* :func:`bill_csv` is a bill as CSV (one row per line, then the totals and
  the VAT per rate; cells that a spreadsheet would read as a formula are
  quoted with a leading ``'``); :func:`bill_html` is the same bill as a
  self-contained page that needs no script, prints on A4 and fits a 390 px
  screen (the lines table scrolls sideways inside its box on a phone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from marketplace.domain.billing import BillSection, PayoutState, ProviderPayout
from marketplace.domain.money import Currency, from_minor, json_number, money_json
from marketplace.domain.rating import Charge

__all__ = [
    "HTML_HEADERS",
    "applied_rate_body",
    "bill_csv",
    "bill_html",
    "customer_bill_body",
    "iso",
    "payout_body",
    "rated_usage",
]

#: Headers of the HTML bill: nothing but inline style may load or run.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def rated_usage(charge: Charge | None, *, product: Mapping[str, str],
                rated_at: datetime) -> list[dict[str, Any]]:  # fmt: skip
    """TMF635 ``ratedProductUsage`` of a report (empty when it was not charged).

    The rating amounts are TMF ``Money`` (``{unit, value}``), as TMF635 v4 has them.
    """
    if charge is None:
        return []
    return [{
        "@type": "RatedProductUsage",
        "ratingDate": iso(rated_at),
        "usageRatingTag": "usage",
        "ratingAmountType": "total",
        "isBilled": False,
        "taxExcludedRatingAmount": money_json(charge.net_minor, charge.currency),
        "taxIncludedRatingAmount": money_json(charge.gross_minor, charge.currency),
        "taxRate": json_number(charge.vat_rate),
        "productRef": dict(product),
        "appliedCustomerBillingRate": {"id": charge.id},
    }]


def applied_rate_body(charge: Charge, *, href: str, product: Mapping[str, str], buyer: str,
                      bill: Mapping[str, str] | None, rated_at: datetime) -> dict[str, Any]:
    """TMF678 ``AppliedCustomerBillingRate`` of one charge (a line of a bill)."""
    body: dict[str, Any] = {
        "id": charge.id, "href": href, "@type": "AppliedCustomerBillingRate",
        "name": charge.description, "description": f"{charge.kind.value} charge",
        "date": iso(rated_at), "type": charge.kind.value, "isBilled": bill is not None,
        "product": dict(product),
        "taxExcludedAmount": money_json(charge.net_minor, charge.currency),
        "taxIncludedAmount": money_json(charge.gross_minor, charge.currency),
        "appliedTax": [{"taxCategory": "VAT", "taxRate": json_number(charge.vat_rate),
                        "taxAmount": money_json(charge.vat_minor, charge.currency)}],
        "characteristic": [
            {"name": "source", "value": charge.source},
            {"name": "quantity", "value": json_number(charge.quantity)},
            {"name": "chargeableQuantity", "value": json_number(charge.chargeable)},
            *([{"name": "unit", "value": charge.unit.value}] if charge.unit else []),
        ],
        "relatedParty": [{"id": buyer, "role": "customer", "@referredType": "Organization"},
                         {"id": charge.provider, "role": "provider",
                          "@referredType": "Organization"}],
    }
    if charge.period_start is not None and charge.period_end is not None:
        body["periodCoverage"] = {"startDateTime": iso(charge.period_start),
                                  "endDateTime": iso(charge.period_end)}
    if bill is not None:
        body["bill"] = dict(bill)
    return body


def customer_bill_body(section: BillSection, *, bill_id: str, href: str, bill_no: str,
                       buyer: str, issuer: str, period: tuple[datetime, datetime],
                       billed_at: datetime, due: datetime) -> dict[str, Any]:
    """A TMF678 ``CustomerBill`` of one currency's charges of one buyer."""
    return {
        "id": bill_id, "href": href, "@type": "CustomerBill", "billNo": bill_no,
        "billDate": iso(billed_at), "lastUpdate": iso(billed_at), "state": "new",
        "category": "normal", "runType": "onCycle", "paymentDueDate": iso(due),
        "billingPeriod": {"startDateTime": iso(period[0]), "endDateTime": iso(period[1])},
        **section.tmf_amounts(),
        "remainingAmount": money_json(section.tax_included_minor, section.currency),
        "billingAccount": {"id": buyer, "@referredType": "BillingAccount"},
        "relatedParty": [{"id": buyer, "role": "customer", "@referredType": "Organization"},
                         {"id": issuer, "role": "billIssuer", "@referredType": "Organization"}],
        "billDocument": [
            {"@type": "AttachmentRef", "id": "csv", "name": f"{bill_no}.csv",
             "mimeType": "text/csv", "url": f"{href}/bill.csv"},
            {"@type": "AttachmentRef", "id": "html", "name": f"{bill_no}.html",
             "mimeType": "text/html", "url": f"{href}/bill.html"},
        ],
        "appliedCustomerBillingRateCount": len(section.charges),
    }


def payout_body(row: ProviderPayout, *, payout_id: str, href: str, state: PayoutState,
                fee_percent: Decimal, period: tuple[datetime, datetime], created: datetime,
                charges: int) -> dict[str, Any]:  # fmt: skip
    """A provider payout as the API answers it (amounts as TMF ``Money``)."""
    return {
        "id": payout_id, "href": href, "@type": "ProviderPayout", "provider": row.provider,
        "state": state.value, "createdAt": iso(created),
        "period": {"startDateTime": iso(period[0]), "endDateTime": iso(period[1])},
        "charges": charges,
        "sales": money_json(row.sales_minor, row.currency),
        "vat": money_json(row.vat_minor, row.currency),
        "operatorFeePercent": json_number(fee_percent),
        "operatorFee": money_json(row.fee_minor, row.currency),
        "payable": money_json(row.payable_minor, row.currency),
    }


# -- CSV and HTML -----------------------------------------------------------------------


def _amount(minor: int, unit: Currency) -> str:
    return f"{from_minor(minor, unit):.2f}"


def _cell(value: object) -> str:
    text = str(value)
    # a spreadsheet runs a cell that starts like a formula; a plan name could
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _quantity(charge: Charge) -> str:
    return f"{json_number(charge.quantity)}"


def _period(charge: Charge) -> tuple[str, str]:
    if charge.period_start is None or charge.period_end is None:
        return "", ""
    return iso(charge.period_start), iso(charge.period_end)


_COLUMNS = ("line", "id", "type", "description", "product", "provider", "period_start",
            "period_end", "quantity", "chargeable", "unit", "net", "vat_rate", "vat", "gross",
            "currency")


def bill_csv(bill: Mapping[str, Any], section: BillSection,
             products: Mapping[str, str]) -> str:  # fmt: skip
    """The bill as CSV: a header, one row per line (``products``: charge id → product), totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    unit = section.currency
    writer.writerow(("bill", bill["billNo"], "customer", bill["billingAccount"]["id"],
                     "billDate", bill["billDate"], "state", bill["state"]))
    writer.writerow(_COLUMNS)
    for number, charge in enumerate(section.charges, start=1):
        start, end = _period(charge)
        writer.writerow([_cell(v) for v in (
            number, charge.id, charge.kind.value, charge.description,
            products.get(charge.id, ""), charge.provider, start, end, _quantity(charge),
            json_number(charge.chargeable), charge.unit.value if charge.unit else "",
            _amount(charge.net_minor, unit), json_number(charge.vat_rate),
            _amount(charge.vat_minor, unit), _amount(charge.gross_minor, unit), unit.value)])
    for tax in section.taxes:
        writer.writerow(("vat", json_number(tax.tax_rate), "taxable",
                         _amount(tax.taxable_minor, unit), "vat", _amount(tax.tax_minor, unit),
                         unit.value))
    writer.writerow(("total", "net", _amount(section.tax_excluded_minor, unit), "vat",
                     _amount(section.tax_minor, unit), "gross",
                     _amount(section.tax_included_minor, unit), unit.value))
    return out.getvalue()


_STYLE = """
  body { font-family: system-ui, sans-serif; margin: 1rem; color: #1b1b1b; max-width: 60rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0 0 1rem; }
  dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
  .lines { overflow-x: auto; max-width: 100%; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { border-bottom: 1px solid #bbb; padding: .3rem .4rem; text-align: left;
           vertical-align: top; }
  td.n, th.n { text-align: right; white-space: nowrap; }
  td.id { overflow-wrap: anywhere; min-width: 8rem; }
  .totals { margin-top: 1rem; max-width: 24rem; margin-left: auto; }
  @media print { body { margin: 0; font-size: 10pt; } .lines { overflow: visible; } }
"""


def _row(cells: Sequence[tuple[str, str]]) -> str:
    return "<tr>" + "".join(f'<td class="{c}">{escape(v)}</td>' for c, v in cells) + "</tr>"


def _lines(section: BillSection, products: Mapping[str, str]) -> str:
    unit = section.currency
    rows = []
    for charge in section.charges:
        start, end = _period(charge)
        rows.append(_row([
            ("id", charge.description + (f" ({products[charge.id]})"
                                         if charge.id in products else "")),
            ("id", f"{start[:10]} – {end[:10]}" if start else ""),
            ("n", _quantity(charge) + (f" {charge.unit.value}" if charge.unit else "")),
            ("n", _amount(charge.net_minor, unit)),
            ("n", f"{json_number(charge.vat_rate)} %"),
            ("n", _amount(charge.gross_minor, unit)),
        ]))
    return "\n".join(rows)


def _totals(section: BillSection) -> str:
    unit = section.currency
    rows = [_row([("", "Total excl. VAT"), ("n", _amount(section.tax_excluded_minor, unit))])]
    rows += [_row([("", f"VAT {json_number(t.tax_rate)} % of "
                        f"{_amount(t.taxable_minor, unit)}"),
                   ("n", _amount(t.tax_minor, unit))]) for t in section.taxes]
    rows.append(_row([("", f"Amount due ({unit.value})"),
                      ("n", _amount(section.tax_included_minor, unit))]))
    return "\n".join(rows)


def bill_html(bill: Mapping[str, Any], section: BillSection, products: Mapping[str, str], *,
              issuer_name: str) -> str:  # fmt: skip
    """The bill as a printable HTML page (no script; fits a 390 px screen)."""
    period = bill["billingPeriod"]
    facts = [("Bill", bill["billNo"]), ("Issued by", issuer_name),
             ("Customer", bill["billingAccount"]["id"]), ("Bill date", bill["billDate"][:10]),
             ("Period", f"{period['startDateTime'][:10]} – {period['endDateTime'][:10]}"),
             ("Payment due", bill["paymentDueDate"][:10]), ("State", bill["state"])]
    details = "\n".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts)
    title = escape(f"Bill {bill['billNo']}")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<dl>
{details}
</dl>
<div class="lines" role="region" aria-label="Bill lines" tabindex="0">
<table>
<caption>Lines ({escape(section.currency.value)})</caption>
<thead><tr><th scope="col">Description</th><th scope="col">Period</th>
<th scope="col" class="n">Quantity</th><th scope="col" class="n">Net</th>
<th scope="col" class="n">VAT</th><th scope="col" class="n">Gross</th></tr></thead>
<tbody>
{_lines(section, products)}
</tbody>
</table>
</div>
<table class="totals">
<caption>Totals</caption>
<tbody>
{_totals(section)}
</tbody>
</table>
</main>
</body>
</html>
"""
