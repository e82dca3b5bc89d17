"""``dataspace order create|list|status|cancel|pay``: buy data products (TMF622 orders).

A member orders as itself (``--data-dir`` of its connector). A free plan
completes at once; a priced one waits for the invoice to be paid (its KID,
amount and due date are printed), and a restricted product for its
provider's approval. When the order completes, the marketplace issues a
purchase credential and delivers it to the buyer's connector over DCP;
``status`` says whether the connector holds it; ``list`` shows a member's
orders (``--sales``: the orders for its products), or every order to the
operator. ``pay`` is the operator's: it marks the invoice paid.
"""

from __future__ import annotations

import re
from typing import Any

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, json_option, print_json, print_next, print_table
from dataspace.cli.marketplace_client import (
    TMF620,
    TMF622,
    MarketplaceApi,
    MarketplaceOptions,
    marketplace_options,
    money,
)

__all__ = ["order"]

_ORDERS = f"{TMF622}/productOrder"
_PURCHASE = "DataProductPurchaseCredential"


@cli.group()
def order() -> None:
    """Buy data products: order, follow, cancel, mark paid."""


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _plan_of(offering: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The offering's plan ``wanted`` names: its id, or its name (``per-call`` is "Per call")."""
    plans = [p for p in offering.get("productOfferingPrice") or [] if isinstance(p, dict)]
    for plan in plans:
        if plan.get("id") == wanted or _key(str(plan.get("name") or "")) == _key(wanted):
            return plan
    listed = ", ".join(f"{p.get('name')} ({p.get('id')})" for p in plans) or "none"
    fail(f"plan-unknown: offering {offering['id']} has no plan {wanted!r}; its plans: {listed}")


def _payment_line(body: dict[str, Any]) -> str | None:
    pay = body.get("paymentInstructions") or {}
    if pay.get("kind") == "invoice":
        amount = f"{pay['amount_minor'] / 100:.2f} {pay['currency']}"
        account = f", account {pay['account_number']}" if pay.get("account_number") else ""
        return f"Pay {amount} by invoice: KID {pay['kid']}, due {pay['due_date']}{account}."
    if pay.get("kind") == "card":
        return f"Pay by card before {body.get('paymentDueDate')}: " + str(
            pay.get("checkout_url") or "the marketplace's checkout page")
    return None


def _row(body: dict[str, Any], credential: str) -> tuple[Any, ...]:
    item = (body.get("productOrderItem") or [{}])[0]
    plan = ((item.get("itemPrice") or [{}])[0]).get("productOfferingPrice") or {}
    total = ((body.get("orderTotalPrice") or [{}])[0]).get("price") or {}
    return (body["id"], body.get("state"), (item.get("productOffering") or {}).get("name"),
            plan.get("name"), money(total.get("taxIncludedAmount")), credential)


def _show(body: dict[str, Any], as_json: bool, credential: str, next_step: str,
          **json_extra: Any) -> None:
    """The order as JSON (with ``json_extra``), or as a row, what to pay and the next step."""
    if as_json:
        print_json({**body, **json_extra})
        return
    print_table(("ORDER", "STATE", "PRODUCT", "PLAN", "DUE NOW", "CREDENTIAL"),
                [_row(body, credential)])
    line = _payment_line(body) if body.get("state") == "inProgress" else None
    if line:
        click.echo(f"\n{line}")
    print_next(next_step)


def _next(body: dict[str, Any], follow: str, delivered: bool | None) -> str:
    order_id, state = body["id"], body.get("state")
    status = f"`dataspace order status {order_id} {follow}`"
    if state == "completed" and not delivered:
        return (f"the purchase credential is on its way to your connector; {status} says "
                "when it holds it")
    if state == "completed":
        return ("negotiate for the data with your connector: `dataspace connector negotiate "
                "--help`")
    if state == "inProgress":
        return (f"pay the invoice by its due date (the operator then records it: `dataspace "
                f"order pay {order_id} --operator`); follow it with {status}")
    if state == "held":
        return f"the provider approves restricted products; follow it with {status}"
    return f"`dataspace product list` to find another product; {status}"


@order.command("create")
@marketplace_options
@click.argument("offering_id")
@click.option("--plan", "plan", required=True, help="The plan's name (e.g. monthly) or id.")
@click.option("--purpose", default=None,
              help="What you will use the data for (restricted products require it).")
@click.option("--buyer", default=None, help="The operator orders for this member's DID.")
@json_option
def create(offering_id: str, plan: str, purpose: str | None, buyer: str | None,
           as_json: bool, marketplace: MarketplaceOptions) -> None:
    """Order an offering on one of its plans; prints what to pay and the next step."""
    api = marketplace.open()
    if api.caller.kind == "operator":
        if not buyer:
            fail("the operator orders for a member: give --buyer DID")
    else:
        api.require_member("ordering")
        if buyer:
            fail("--buyer is the operator's: a member orders as itself")

    async def place(mp: MarketplaceApi) -> dict[str, Any]:
        offering = await mp.call("GET", f"{TMF620}/productOffering/{offering_id}")
        chosen = _plan_of(offering, plan)
        body: dict[str, Any] = {"productOrderItem": [{
            "productOffering": {"id": offering_id},
            "itemPrice": [{"productOfferingPrice": {"id": chosen["id"]}}]}]}
        if purpose:
            body["purpose"] = purpose
        if buyer:
            body["relatedParty"] = [{"id": buyer, "role": "Buyer"}]
        placed: dict[str, Any] = await mp.call("POST", _ORDERS, body)
        return placed

    placed = api.run(place)
    _show(placed, as_json, _credential_text(placed.get("state"), None),
          _next(placed, api.follow, False))


async def _delivered(api: MarketplaceApi, body: dict[str, Any]) -> bool | None:
    """Whether the buyer's connector holds the order's purchase credential (None: cannot say)."""
    if api.caller.kind != "member" or body.get("state") != "completed":
        return None
    page = await api.connector("GET", f"/api/v1/credentials?limit=500&type={_PURCHASE}")
    if not isinstance(page, dict):
        return None
    return any((c.get("claims") or {}).get("order") == body["id"]
               for c in page.get("items") or [])


def _credential_text(state: str | None, delivered: bool | None) -> str:
    if state != "completed":
        return "-"
    if delivered is None:
        return "issued"
    return "delivered" if delivered else "not yet delivered"


_STATES = ("acknowledged", "inProgress", "held", "completed", "rejected", "failed",
           "cancelled")


@order.command("list")
@marketplace_options
@click.option("--state", type=click.Choice(_STATES), default=None,
              help="Only orders in this state.")
@click.option("--sales", is_flag=True, help="The orders for your products (as the seller).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
def list_command(state: str | None, sales: bool, limit: int, as_json: bool,
                 marketplace: MarketplaceOptions) -> None:
    """Your orders, newest first (the operator: everyone's)."""
    api = marketplace.open(signed_for="listing orders")
    if sales:
        api.require_member("--sales")
    params = {"limit": str(limit), "sort": "-lastUpdate"}
    if state:
        params["state"] = state
    if sales:
        params["role"] = "seller"
    orders: list[dict[str, Any]] = api.run(
        lambda mp: mp.call("GET", _ORDERS, params=params))
    if as_json:
        print_json(orders)
        return
    if not orders:
        click.echo("No orders" + (f" in state {state}" if state else "") + ".")
        print_next("`dataspace product list` to find a product to order")
        return
    print_table(("ORDER", "STATE", "PRODUCT", "PLAN", "DUE NOW", "CREDENTIAL"),
                [_row(body, "-") for body in orders])
    print_next(f"`dataspace order status ORDER {api.follow}` for one order and its credential")


@order.command("status")
@marketplace_options
@click.argument("order_id")
@json_option
def status(order_id: str, as_json: bool, marketplace: MarketplaceOptions) -> None:
    """An order's state, product, plan, and whether your connector holds its credential."""
    api = marketplace.open(signed_for="reading an order")

    async def read(mp: MarketplaceApi) -> tuple[dict[str, Any], bool | None]:
        body: dict[str, Any] = await mp.call("GET", f"{_ORDERS}/{order_id}")
        return body, await _delivered(mp, body)

    body, delivered = api.run(read)
    _show(body, as_json, _credential_text(body.get("state"), delivered),
          _next(body, api.follow, delivered), credentialDelivered=delivered)


@order.command("cancel")
@marketplace_options
@click.argument("order_id")
@click.option("--reason", default=None, help="Why (kept with the order).")
@json_option
def cancel(order_id: str, reason: str | None, as_json: bool,
           marketplace: MarketplaceOptions) -> None:
    """Cancel an order; a completed one's product ends and its credential is revoked."""
    api = marketplace.open(signed_for="cancelling an order")
    body: dict[str, Any] = {"productOrder": {"id": order_id}}
    if reason:
        body["cancellationReason"] = reason

    async def cancel_it(mp: MarketplaceApi) -> dict[str, Any]:
        await mp.call("POST", f"{TMF622}/cancelProductOrder", body)
        cancelled: dict[str, Any] = await mp.call("GET", f"{_ORDERS}/{order_id}")
        return cancelled

    cancelled = api.run(cancel_it)
    _show(cancelled, as_json, "revoked" if cancelled.get("completionDate") else "-",
          "`dataspace product list` to find another product")


@order.command("pay")
@marketplace_options
@click.argument("order_id")
@json_option
def pay(order_id: str, as_json: bool, marketplace: MarketplaceOptions) -> None:
    """The operator records an order's invoice as paid: the order completes."""
    api = marketplace.open()
    api.require_operator("marking an invoice paid")

    async def mark(mp: MarketplaceApi) -> dict[str, Any]:
        await mp.call("POST", f"/payments/invoice/{order_id}/paid")
        paid: dict[str, Any] = await mp.call("GET", f"{_ORDERS}/{order_id}")
        return paid

    paid = api.run(mark)
    _show(paid, as_json, _credential_text(paid.get("state"), None),
          "the buyer's connector receives the purchase credential; the buyer follows it "
          f"with `dataspace order status {order_id} --data-dir THEIR_CONNECTOR`")
