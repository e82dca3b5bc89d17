"""The demo's purchase story: Example Analytics buys Halden's parking data on the marketplace.

Played over real HTTP against the local data space, each step checked:

1. Halden's three data products are on the marketplace with their plans
   (anyone may browse launched offerings);
2. without a purchase, Example Analytics' contract request for the parking
   data is refused by Halden's connector (no purchase credential);
3. Example Analytics orders the monthly plan as itself (a DCP member call
   signed with its connector's key); the marketplace invoices it (KID);
4. the operator marks the invoice paid; the order completes, and the
   marketplace's DataProductPurchaseCredential reaches Example Analytics'
   connector over DCP (offered by the marketplace, requested by the connector);
5. its connector negotiates with the credential and pulls parking data;
6. it cancels the order: the credential is revoked, and Halden's connector
   refuses the data within one status-list refresh;
7. it buys the pay-per-use plan and pulls; Halden's connector reports the
   calls to the marketplace, which rates them into a charge, and a billing
   run puts the charge on Example Analytics' bill. The order is cancelled
   at the end, so the next run of the demo starts from the same place.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataspace.local.datasets import PARKING
from dataspace.local.products import PRODUCTS, TMF620, offer_id
from dataspace.local.space import STATUS_REFRESH, USAGE_BUCKET_SECONDS, LocalSpace
from dataspace.local.story import expect
from policies.presets import PURCHASE_CREDENTIAL

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from dataspace.local.demo import Demo

__all__ = ["BUYER", "PurchaseStory"]

BUYER = "example-analytics"
TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF678 = "/tmf-api/customerBillManagement/v4"
_PARKING = next(p for p in PRODUCTS if p.dataset_id == PARKING)


def _money(value: dict[str, Any]) -> str:
    """TMF Money the Norwegian way: ``490,00 NOK``."""
    return f"{value['value']:.2f}".replace(".", ",") + f" {value['unit']}"


def _refusal(reason: str) -> str:
    """The code and reasons of a DSP ContractNegotiationError quoted in ``reason``."""
    _, _, quoted = reason.partition("{")
    try:
        error = json.loads("{" + quoted)
    except ValueError:
        return reason[:200]
    return f"{error.get('code')} ({'; '.join(error.get('reason') or [])})"


@dataclass
class PurchaseStory:
    """The purchase steps of :class:`~dataspace.local.demo.Demo` (see the module docstring)."""

    demo: Demo
    facts: dict[str, Any] = field(default_factory=dict)

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """(title, step) in the order they are played."""
        return [
            ("Halden's data products are on the marketplace", self.browse),
            ("Without a purchase, Example Analytics is refused the parking data",
             self.refused),
            ("Example Analytics orders the monthly parking plan; it is invoiced",
             self.order_monthly),
            ("The operator marks the invoice paid; the purchase credential arrives over DCP",
             self.paid),
            ("Example Analytics negotiates with the credential and pulls parking data",
             self.pull),
            ("Example Analytics cancels; access ends within one status refresh", self.cancel),
            ("Pay per use: Halden's connector reports the calls; they are billed",
             self.pay_per_use),
        ]

    # -- helpers -------------------------------------------------------------------

    @property
    def space(self) -> LocalSpace:
        """The data space the story is played in."""
        return self.demo.space

    async def _order(self, plan_key: str) -> dict[str, Any]:
        """Example Analytics orders a parking plan as itself."""
        async with self.space.marketplace(BUYER) as buyer:
            order: dict[str, Any] = await buyer.post(f"{TMF622}/productOrder", {
                "productOrderItem": [{
                    "id": "1", "action": "add",
                    "productOffering": {"id": self.facts["offering"]},
                    "itemPrice": [{"productOfferingPrice": {
                        "id": self.facts["plans"][plan_key]}}]}]})
        return order

    async def _credential(self, order_id: str, within: float = 30.0) -> dict[str, Any]:
        """The purchase credential of ``order_id`` once the buyer's connector holds it."""
        deadline = time.monotonic() + within
        async with self.space.management(BUYER) as connector:
            while True:
                held = await connector.get(f"/api/v1/credentials?type={PURCHASE_CREDENTIAL}")
                mine = [c for c in held["items"] if c["claims"].get("order") == order_id]
                if mine:
                    return dict(mine[0])
                expect(time.monotonic() < deadline,
                       f"no purchase credential for order {order_id} reached "
                       "Example Analytics' connector")
                await asyncio.sleep(0.2)

    async def _cancel(self, order_id: str, reason: str) -> dict[str, Any]:
        async with self.space.marketplace(BUYER) as buyer:
            await buyer.post(f"{TMF622}/cancelProductOrder", {
                "productOrder": {"id": order_id}, "cancellationReason": reason})
            order: dict[str, Any] = await buyer.get(f"{TMF622}/productOrder/{order_id}")
        return order

    async def _forget_revoked(self) -> int:
        """Drop the buyer's purchase credentials of orders no longer completed.

        Its connector would present them beside a new one, and Halden's
        connector refuses a presentation with a revoked credential in it.
        """
        dropped = 0
        async with (self.space.management(BUYER) as connector,
                    self.space.marketplace(BUYER) as buyer):
            held = await connector.get(f"/api/v1/credentials?type={PURCHASE_CREDENTIAL}")
            for credential in held["items"]:
                order_id = credential["claims"].get("order")
                order = await buyer.get(f"{TMF622}/productOrder/{order_id}")
                if order["state"] != "completed":
                    await connector.delete(f"/api/v1/credentials/{credential['id']}")
                    dropped += 1
        return dropped

    # -- the steps -----------------------------------------------------------------

    async def browse(self) -> str:
        market = self.space.spec("marketplace").base_url
        async with self.space.marketplace() as anyone:
            offerings = await anyone.get(f"{TMF620}/productOffering")
            names = {o["name"]: o for o in offerings}
            missing = [p.name for p in PRODUCTS if p.name not in names]
            expect(not missing, f"not on the marketplace: {missing}")
            parking = names[_PARKING.name]
            plans = {}
            for ref in parking["productOfferingPrice"]:
                plans[ref["name"]] = await anyone.get(f"{TMF620}/productOfferingPrice/{ref['id']}")
        by_name = {plan.body["name"]: plan.key for plan in _PARKING.plans}
        self.facts["offering"] = parking["id"]
        self.facts["product"] = parking["productSpecification"]["id"]
        self.facts["plans"] = {by_name[name]: plan["id"] for name, plan in plans.items()}
        expect(set(self.facts["plans"]) == {"monthly", "per-use"},
               f"parking's plans are {sorted(plans)}")
        priced = ", ".join(f"{name} {_money(plan['price'])}" for name, plan in plans.items())
        return (f"{len(PRODUCTS)} products at {market}: "
                f"{', '.join(p.name for p in PRODUCTS)}; parking: {priced}")

    async def refused(self) -> str:
        await self._forget_revoked()
        async with self.space.management(BUYER) as consumer:
            ended = await self.demo.negotiate_for(
                consumer, PARKING, offer_id(PARKING, "monthly"))
        expect(ended["state"] == "TERMINATED",
               f"the request without a purchase ended {ended['state']}")
        reason = str(ended.get("error_reason") or "")
        expect(PURCHASE_CREDENTIAL in reason, f"refused for another reason: {reason}")
        return f"Halden's connector refused it: {_refusal(reason)}"

    async def order_monthly(self) -> str:
        order = await self._order("monthly")
        expect(order["state"] == "inProgress", f"the order is {order['state']}")
        invoice = order.get("paymentInstructions") or {}
        expect(invoice.get("kind") == "invoice", f"no invoice: {invoice}")
        self.facts["monthly_order"] = order["id"]
        due = _money({"value": invoice["amount_minor"] / 100,
                      "unit": invoice.get("currency", "NOK")})
        return (f"order {order['id']} inProgress; invoice KID {invoice['kid']}, "
                f"{due} incl. VAT")

    async def paid(self) -> str:
        order_id = self.facts["monthly_order"]
        async with self.space.marketplace() as operator:
            paid = await operator.post(f"/payments/invoice/{order_id}/paid")
        expect(paid["state"] == "completed", f"the paid order is {paid['state']}")
        credential = await self._credential(order_id)
        expect(credential["source"] == "dcp", f"it came by {credential['source']}")
        expect(credential["claims"].get("product") == self.facts["product"],
               f"it names {credential['claims'].get('product')}")
        issuer = self.space.service("marketplace")["did"]
        expect(credential["issuer"] == issuer, "not issued by the marketplace")
        return (f"order completed; Example Analytics' connector holds a "
                f"{PURCHASE_CREDENTIAL} for product {credential['claims']['product']}, "
                f"plan {credential['claims'].get('plan')}, issued by {issuer}")

    async def pull(self) -> str:
        async with self.space.management(BUYER) as consumer:
            agreement = await self.demo.agree(consumer, PARKING,
                                              offer_id=offer_id(PARKING, "monthly"))
            edr = await self.demo.transfer(consumer, agreement)
        self.facts["monthly_edr"] = edr
        status, body = await self.demo.fetch(edr)
        expect(status == 200, f"the pull answered {status}: {body[:200]}")
        parks = json.loads(body)
        expect(parks and parks[0].get("type") == "OffStreetParking",
               "the pull returned no car parks")
        free = ", ".join(f"{p['name']} {p['availableSpotNumber']}" for p in parks[:2])
        return f"agreement {agreement}; {len(parks)} car parks, free spaces: {free} ..."

    async def cancel(self) -> str:
        order_id = self.facts["monthly_order"]
        order = await self._cancel(order_id, "demo: no longer needed")
        expect(order["state"] == "cancelled", f"the order is {order['state']}")
        started = time.monotonic()
        within = 4 * STATUS_REFRESH + 10
        while True:
            status, _ = await self.demo.fetch(self.facts["monthly_edr"])
            if status != 200:
                break
            expect(time.monotonic() - started < within,
                   f"still served {within} s after the cancellation")
            await asyncio.sleep(0.5)
        took = time.monotonic() - started
        return (f"order cancelled, credential revoked; Halden's data plane refused the "
                f"next pull ({status}) after {took:.0f} s (status refresh: {STATUS_REFRESH} s)")

    async def pay_per_use(self) -> str:
        await self._forget_revoked()
        order = await self._order("per-use")
        expect(order["state"] == "completed", f"the order is {order['state']}")
        await self._credential(order["id"])
        async with self.space.management(BUYER) as consumer:
            agreement = await self.demo.agree(consumer, PARKING,
                                              offer_id=offer_id(PARKING, "per-use"))
            edr = await self.demo.transfer(consumer, agreement)
        calls = 3
        for _ in range(calls):
            status, body = await self.demo.fetch(edr)
            expect(status == 200, f"a paid pull answered {status}: {body[:200]}")
        charge = await self._charge(order)
        bill = await self._bill()
        await self._cancel(order["id"], "demo: done")
        return (f"{calls} calls reported by Halden's connector, rated "
                f"{_money(charge['taxExcludedAmount'])} excl. VAT; bill {bill['billNo']} "
                f"to Example Analytics: {_money(bill['amountDue'])} due")

    async def _charge(self, order: dict[str, Any]) -> dict[str, Any]:
        """The charge the connector's usage report became (it reports final buckets)."""
        product_id = order["productOrderItem"][0]["product"]["id"]
        deadline = time.monotonic() + 3 * USAGE_BUCKET_SECONDS + 20
        async with self.space.marketplace() as operator:
            while True:
                rates = await operator.get(f"{TMF678}/appliedCustomerBillingRate")
                mine = [r for r in rates if r.get("product", {}).get("id") == product_id]
                if mine:
                    return dict(mine[0])
                expect(time.monotonic() < deadline,
                       "Halden's connector's usage report was not billed")
                await asyncio.sleep(0.5)

    async def _bill(self) -> dict[str, Any]:
        """The operator's billing run; the bill as Example Analytics reads it."""
        until = datetime.now(UTC) + timedelta(seconds=1)
        async with self.space.marketplace() as operator:
            made = await operator.post("/billing/runs", {
                "until": until.isoformat().replace("+00:00", "Z")})
        buyer_did = self.space.service(BUYER)["did"]
        bills = [b for b in made["bills"] if b["billingAccount"]["id"] == buyer_did]
        expect(len(bills) == 1, f"the billing run made {len(bills)} bills for the buyer")
        async with self.space.marketplace(BUYER) as buyer:
            bill: dict[str, Any] = await buyer.get(f"{TMF678}/customerBill/{bills[0]['id']}")
        return bill
