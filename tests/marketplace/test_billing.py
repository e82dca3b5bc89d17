"""TMF678 bills from rated usage, as JSON, CSV and a printable page; payouts less the fee."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from identity.keys import KeyPair
from identity.signer import Signer
from tests.conftest import Database
from tests.marketplace.conftest import TMF678, Marketplace
from tests.marketplace.test_usage import START, charges, post, report, sell, signed

BILLS = f"{TMF678}/customerBill"


def report_bucket(days: int) -> datetime:
    """A metering bucket ``days`` after the sale."""
    return START + timedelta(days=days)


async def run_billing(marketplace: Marketplace, body: Any = None) -> dict[str, Any]:
    status, made, _ = await marketplace.call("POST", "/billing/runs", body or {},
                                             headers=marketplace.admin)
    assert status == 201, made
    return dict(made)


async def test_acceptance_1234_calls_resent_twice_and_one_forged_make_one_charge(
    marketplace: Marketplace, database: Database
) -> None:
    """1,234 calls on 0.50 NOK per call with 200 included: one charge of 1,034 × 0.50."""
    connector = Signer.for_did_key(KeyPair.generate())
    sale = await sell(marketplace, database, provider=connector.did)
    document = report(connector, requests=1234)
    status, _, _ = await post(marketplace, document, signed(connector, document))
    assert status == 201
    for _ in range(2):  # the connector re-sends (a lost answer)
        status, body, _ = await post(marketplace, document, signed(connector, document))
        assert (status, body["code"]) == (409, "usage-exists")
    # forged: another key signs a report that claims to be the provider's connector
    thief = Signer(KeyPair.generate(), connector.kid)
    forged = report(connector, requests=99999, bucket=report_bucket(1))
    status, body, _ = await post(marketplace, forged, signed(thief, forged))
    assert (status, body["code"]) == (401, "jwt-signature-invalid")
    # ... or signs as itself; or a genuine signature is sent with a changed document
    other = Signer.for_did_key(KeyPair.generate())
    status, body, _ = await post(marketplace, forged, signed(other, forged))
    assert (status, body["code"]) == (401, "issuer-mismatch")
    status, body, _ = await post(marketplace, {**document, "description": "changed"},
                                 signed(connector, document))
    assert (status, body["code"]) == (401, "usage-signature-mismatch")
    lines = await charges(marketplace)
    assert len(lines) == 1
    assert lines[0]["taxExcludedAmount"] == {"unit": "NOK", "value": 517}

    made = await run_billing(marketplace)
    assert len(made["bills"]) == 1
    bill = made["bills"][0]
    assert bill["billingAccount"]["id"] == sale.buyer
    assert bill["taxExcludedAmount"] == {"unit": "NOK", "value": 517}
    assert bill["taxIncludedAmount"] == {"unit": "NOK", "value": 646.25}
    assert bill["amountDue"] == {"unit": "NOK", "value": 646.25}
    assert bill["state"] == "new"
    status, billed, _ = await marketplace.call(
        "GET", f"{TMF678}/appliedCustomerBillingRate?bill.id={bill['id']}",
        headers=marketplace.admin)
    assert status == 200
    assert len(billed) == 1
    assert billed[0]["isBilled"] is True
    assert billed[0]["bill"]["id"] == bill["id"]
    # a second run has nothing left to bill
    assert await run_billing(marketplace) == {"bills": [], "payouts": []}


async def test_bill_as_csv_and_printable_html_and_its_state(
    marketplace: Marketplace, database: Database
) -> None:
    connector = Signer.for_did_key(KeyPair.generate())
    await sell(marketplace, database, provider=connector.did,
               plan={"name": "=cmd|' /C calc'!A0", "priceType": "usage",
                     "price": {"unit": "NOK", "value": 0.5},
                     "unitOfMeasure": {"amount": 1, "units": "call"}, "includedQuota": 200})
    for day, calls in ((2, 150), (3, 250)):  # 150 + 250 = 400, the first 200 included
        document = report(connector, requests=calls, bucket=report_bucket(day))
        assert (await post(marketplace, document, signed(connector, document)))[0] == 201
    bill = (await run_billing(marketplace))["bills"][0]
    assert bill["taxExcludedAmount"]["value"] == 100

    status, text, headers = await marketplace.call("GET", f"{BILLS}/{bill['id']}/bill.csv",
                                                   headers=marketplace.admin)
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["bill", bill["billNo"]]
    lines = [r for r in rows[2:] if r[0] in ("1", "2")]
    assert [(r[8], r[9], r[11], r[14]) for r in lines] == [
        ("150", "0", "0.00", "0.00"), ("250", "200", "100.00", "125.00")]
    assert all(r[3].startswith("'=") for r in lines)  # no formula reaches a spreadsheet
    assert rows[-1] == ["total", "net", "100.00", "vat", "25.00", "gross", "125.00", "NOK"]

    status, page, headers = await marketplace.call("GET", f"{BILLS}/{bill['id']}/bill.html",
                                                   headers=marketplace.admin)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "<script" not in page
    assert 'name="viewport"' in page
    assert bill["billNo"] in page
    assert "125.00" in page
    assert "VAT 25 %" in page
    assert "=cmd|&#x27; /C calc&#x27;!A0" in page  # the plan name, escaped
    assert "default-src 'none'" in headers["Content-Security-Policy"]

    url = f"{BILLS}/{bill['id']}"
    status, body, _ = await marketplace.call("PATCH", url, {"state": "settled"},
                                             headers=marketplace.admin)
    assert status == 200
    assert body["state"] == "settled"
    assert body["remainingAmount"]["value"] == 0
    status, body, _ = await marketplace.call("PATCH", url, {"state": "new"},
                                             headers=marketplace.admin)
    assert (status, body["code"]) == (409, "illegal-transition")
    status, listed, headers = await marketplace.call("GET", f"{BILLS}?state=settled",
                                                     headers=marketplace.admin)
    assert status == 200
    assert [b["id"] for b in listed] == [bill["id"]]


async def test_payouts_are_the_providers_sales_less_the_operators_fee(
    marketplace: Marketplace, database: Database
) -> None:
    connector = Signer.for_did_key(KeyPair.generate())
    await sell(marketplace, database, provider=connector.did)
    document = report(connector, requests=1234)
    assert (await post(marketplace, document, signed(connector, document)))[0] == 201
    payouts = (await run_billing(marketplace))["payouts"]
    assert len(payouts) == 1
    owed = payouts[0]
    assert owed["provider"] == connector.did
    assert owed["state"] == "pending"
    assert owed["sales"]["value"] == 517
    assert owed["vat"]["value"] == 129.25
    assert owed["operatorFeePercent"] == 10
    assert owed["operatorFee"]["value"] == 51.7
    assert owed["payable"] == {"unit": "NOK", "value": 594.55}  # 517 + 129.25 - 51.70
    path = f"/billing/payouts/{owed['id']}"
    status, body, _ = await marketplace.call("PATCH", path, {"state": "paid"},
                                             headers=marketplace.admin)
    assert status == 200
    assert body["state"] == "paid"
    status, body, _ = await marketplace.call("PATCH", path, {"state": "paid"},
                                             headers=marketplace.admin)
    assert (status, body["code"]) == (409, "illegal-transition")
    status, listed, headers = await marketplace.call("GET", "/billing/payouts?state=paid",
                                                     headers=marketplace.admin)
    assert status == 200
    assert [p["id"] for p in listed] == [owed["id"]]
    assert headers["X-Total-Count"] == "1"


async def test_bad_input_per_endpoint_changes_nothing(
    marketplace: Marketplace, database: Database
) -> None:
    admin = marketplace.admin
    cases: list[tuple[str, str, Any, dict[str, str], int, str]] = [
        ("GET", BILLS, None, {}, 401, "sign-in-required"),
        ("GET", f"{BILLS}?limit=x", None, admin, 400, "paging-invalid"),
        ("GET", f"{BILLS}/nothing", None, admin, 404, "resource-not-found"),
        ("GET", f"{BILLS}/nothing/bill.csv", None, admin, 404, "resource-not-found"),
        ("GET", f"{BILLS}/nothing/bill.html", None, admin, 404, "resource-not-found"),
        ("PATCH", f"{BILLS}/nothing", {"state": "settled"}, admin, 404, "resource-not-found"),
        ("PATCH", f"{BILLS}/nothing", {"state": "paidInFull"}, admin, 400,
         "validation-failed"),
        ("PATCH", f"{BILLS}/nothing", {"amountDue": 0}, admin, 400, "validation-failed"),
        ("PATCH", f"{BILLS}/nothing", {"state": "settled"}, {}, 401, "sign-in-required"),
        ("GET", f"{TMF678}/appliedCustomerBillingRate/nothing", None, admin, 404,
         "resource-not-found"),
        ("POST", "/billing/runs", {"until": "yesterday"}, admin, 400, "validation-failed"),
        ("POST", "/billing/runs", {"until": "2026-01-01T00:00:00"}, admin, 400,
         "validation-failed"),
        ("POST", "/billing/runs", {}, {}, 401, "sign-in-required"),
        ("GET", "/billing/payouts?state=lost", None, admin, 400, "filter-invalid"),
        ("GET", "/billing/payouts/nothing", None, admin, 404, "resource-not-found"),
        ("PATCH", "/billing/payouts/nothing", {"state": "gone"}, admin, 400,
         "validation-failed"),
        ("PATCH", "/billing/payouts/nothing", {"state": "paid"}, admin, 404,
         "resource-not-found"),
    ]
    for method, path, body, headers, status, code in cases:
        got_status, got, _ = await marketplace.call(method, path, body, headers=headers)
        assert (got_status, got.get("code")) == (status, code), (method, path, got)
    status, listed, _ = await marketplace.call("GET", BILLS, headers=admin)
    assert listed == []
    status, listed, _ = await marketplace.call("GET", "/billing/payouts", headers=admin)
    assert listed == []
