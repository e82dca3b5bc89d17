"""Orders, bills and usage: a member's own (as buyer or seller), everyone's for the staff.

Each action calls the service its API route calls:

=====================================  ===============================================
page                                   API
=====================================  ===============================================
``POST /portal/orders/{id}/cancel``    ``POST .../cancelProductOrder``
``POST /portal/orders/{id}/approve``   ``PATCH .../productOrder/{id}`` ``inProgress``
``POST /portal/orders/{id}/reject``    ``PATCH .../productOrder/{id}`` ``rejected``
``POST /portal/orders/{id}/paid``      ``POST /payments/invoice/{id}/paid``
``GET /portal/bills/{id}/bill.csv``    ``GET .../customerBill/{id}/bill.csv``
``GET /portal/bills/{id}/bill.html``   ``GET .../customerBill/{id}/bill.html``
=====================================  ===============================================
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from marketplace.domain.bill_views import HTML_HEADERS, bill_csv, bill_html
from marketplace.domain.ordering import (
    CancelProductOrderCreate,
    OrderState,
    ProductOrderPatch,
    Ref,
)
from marketplace.domain.tmf import parse_query
from marketplace.pages import MEMBER, PREFIX, STAFF, caller_of, services_of
from marketplace.pages.views import money_text, order_view
from marketplace.routes import settings
from servicekit.console.web import form, may, page, redirect, render
from servicekit.errors import InvalidRequest

__all__ = ["routes"]

routes = web.RouteTableDef()
_LIST = 100
_BOTH = (MEMBER, *sorted(STAFF))
_STATES = {s.value for s in OrderState}


@routes.get(PREFIX + "/orders")
@page("GET", "/orders", "Orders: mine (a member), everyone's (the staff)", roles=_BOTH)
async def orders(request: web.Request) -> web.StreamResponse:
    """A member's purchases and (``?role=seller``) sales; the staff see every order,
    ``?state=`` narrows them (``inProgress``: invoices to be paid)."""
    who = caller_of(request)
    params: dict[str, str] = {}
    role = request.query.get("role", "")
    state = request.query.get("state", "")
    if role == "seller" and who.member:
        params["role"] = "seller"
    if state:
        if state not in _STATES:
            raise InvalidRequest("state is one of " + ", ".join(sorted(_STATES)),
                                 code="filter-invalid")
        params["state"] = state
    found, total = await services_of(request).orders.find(
        who, parse_query(params, limit=_LIST, offset=0, keep=frozenset({"role"})))
    return await render(request, "portal/orders.html", {
        "orders": [order_view(o) for o in found], "total": total,
        "selling": params.get("role") == "seller", "state": state,
        "states": sorted(_STATES), "staff": who.operator})


async def _order_page(request: web.Request, order_id: str, *, error: str = "",
                      status: int = 200) -> web.StreamResponse:
    who = caller_of(request)
    services = services_of(request)
    order = await services.orders.get(who, order_id)
    view = order_view(order)
    staff_can_act = may(request, "operator")
    is_buyer = who.member and view["buyer"] == who.did
    is_seller = who.member and view["seller"] == who.did
    instructions: dict[str, Any] = order.get("paymentInstructions") or {}
    return await render(request, "portal/order.html", {
        "order": order, "view": view, "error": error,
        "instructions": instructions,
        "due": money_text({"unit": instructions.get("currency"),
                           "value": instructions["amount_minor"] / 100})
        if "amount_minor" in instructions else "",
        "deliveries": await services.purchases.deliveries(order_id),
        "is_buyer": is_buyer, "is_seller": is_seller,
        "may_cancel": (is_buyer or staff_can_act) and view["state"] in (
            "acknowledged", "held", "inProgress", "completed"),
        "may_approve": (is_seller or staff_can_act) and view["state"] == "held",
        "may_mark_paid": staff_can_act and view["state"] == "inProgress"
        and instructions.get("kind") == "invoice",
    }, status=status)


@routes.get(PREFIX + "/orders/{id}")
@page("GET", "/orders/{id}", "An order: its state, payment and purchase credential", roles=_BOTH)
async def order(request: web.Request) -> web.StreamResponse:
    """The order, what to pay (the invoice's KID) and where its credential is."""
    return await _order_page(request, request.match_info["id"])


@routes.post(PREFIX + "/orders/{id}/cancel")
@page("POST", "/orders/{id}/cancel", "Cancel an order", roles=(MEMBER, "operator"))
async def cancel(request: web.Request) -> web.StreamResponse:
    """Cancel now (as ``POST .../cancelProductOrder``): the product ends, the credential is
    revoked."""
    fields = await form(request)
    order_id = request.match_info["id"]
    reason = fields.get("reason", "").strip()[:2000] or None
    await services_of(request).orders.request_cancellation(
        caller_of(request), CancelProductOrderCreate(product_order=Ref(id=order_id),
                                                     cancellation_reason=reason))
    return redirect(request, f"/orders/{order_id}",
                    notice="Order cancelled. Its purchase credential is revoked; the "
                           "provider's connector stops serving it within minutes.")


async def _decide(request: web.Request, state: OrderState, notice: str) -> web.StreamResponse:
    fields = await form(request)
    order_id = request.match_info["id"]
    reason = fields.get("reason", "").strip()
    patch = ProductOrderPatch.model_validate(
        {"state": state.value, **({"note": [{"text": reason[:4000]}]} if reason else {})})
    await services_of(request).orders.patch(caller_of(request), order_id, patch)
    return redirect(request, f"/orders/{order_id}", notice=notice)


@routes.post(PREFIX + "/orders/{id}/approve")
@page("POST", "/orders/{id}/approve", "Approve a held order (its provider)",
      roles=(MEMBER, "operator"))
async def approve(request: web.Request) -> web.StreamResponse:
    """``held`` → ``inProgress`` (as ``PATCH .../productOrder/{id}``)."""
    return await _decide(request, OrderState.IN_PROGRESS,
                         "Order approved. The buyer pays next (or it completes now if free).")


@routes.post(PREFIX + "/orders/{id}/reject")
@page("POST", "/orders/{id}/reject", "Reject a held order (its provider)",
      roles=(MEMBER, "operator"))
async def reject(request: web.Request) -> web.StreamResponse:
    """``held`` → ``rejected`` (as ``PATCH .../productOrder/{id}``)."""
    return await _decide(request, OrderState.REJECTED,
                         "Order rejected. The buyer sees it, with your reason.")


@routes.post(PREFIX + "/orders/{id}/paid")
@page("POST", "/orders/{id}/paid", "Mark an order's invoice paid (operator)",
      roles=("operator",))
async def mark_paid(request: web.Request) -> web.StreamResponse:
    """As ``POST /payments/invoice/{id}/paid``: the order completes, the credential is issued."""
    order_id = request.match_info["id"]
    await services_of(request).payments.mark_paid(caller_of(request), order_id)
    return redirect(request, f"/orders/{order_id}",
                    notice="Invoice marked paid. The order is completed and the purchase "
                           "credential is on its way to the buyer's connector.")


# --- bills and usage ------------------------------------------------------------------------


@routes.get(PREFIX + "/bills")
@page("GET", "/bills", "Bills: mine (a member), everyone's (the staff)", roles=_BOTH)
async def bills(request: web.Request) -> web.StreamResponse:
    """The bills, newest first, each with its CSV and printable page."""
    found, total = await services_of(request).billing.find_bills(
        caller_of(request), parse_query({}, limit=_LIST, offset=0))
    rows = [{"id": b["id"], "number": b.get("billNo", b["id"]),
             "date": str(b.get("billDate") or "")[:10], "state": b.get("state", ""),
             "due": money_text(b.get("amountDue")),
             "customer": (b.get("relatedParty") or [{}])[0].get("id", "")} for b in found]
    return await render(request, "portal/bills.html", {"bills": rows, "total": total,
                                                       "staff": caller_of(request).operator})


@routes.get(PREFIX + "/bills/{id}/bill.csv")
@page("GET", "/bills/{id}/bill.csv", "A bill as CSV", roles=_BOTH)
async def bill_as_csv(request: web.Request) -> web.StreamResponse:
    """The same CSV as the API's ``bill.csv``."""
    doc = await services_of(request).billing.document(caller_of(request),
                                                      request.match_info["id"])
    return web.Response(
        text=bill_csv(doc.bill, doc.section, doc.products), content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{doc.bill["billNo"]}.csv"'})


@routes.get(PREFIX + "/bills/{id}/bill.html")
@page("GET", "/bills/{id}/bill.html", "A bill as a printable page", roles=_BOTH)
async def bill_as_html(request: web.Request) -> web.StreamResponse:
    """The same printable page as the API's ``bill.html``."""
    doc = await services_of(request).billing.document(caller_of(request),
                                                      request.match_info["id"])
    text = bill_html(doc.bill, doc.section, doc.products,
                     issuer_name=settings(request).operator_name)
    return web.Response(text=text, content_type="text/html", headers=HTML_HEADERS)


@routes.get(PREFIX + "/usage")
@page("GET", "/usage", "Usage: what my products were used for, and what I hold", roles=_BOTH)
async def usage(request: web.Request) -> web.StreamResponse:
    """The products a member holds (TMF637) and the usage its connector reported (TMF635)."""
    who = caller_of(request)
    services = services_of(request)
    held, _ = await services.inventory.find(who, parse_query({}, limit=_LIST, offset=0))
    reported, total = await services.usage.find(who, parse_query({}, limit=_LIST, offset=0))
    products = [{"id": p["id"], "name": p.get("name") or "", "status": p.get("status", ""),
                 "start": str(p.get("startDate") or "")[:10],
                 "end": str(p.get("terminationDate") or "")[:10]} for p in held]
    rows = []
    for u in reported:
        quantity = (u.get("usageCharacteristic") or [])
        rated = (u.get("ratedProductUsage") or [{}])[0]
        rows.append({"id": u["id"], "date": str(u.get("usageDate") or "")[:10],
                     "status": u.get("status", ""),
                     "what": ", ".join(f"{c.get('name')}: {c.get('value')}" for c in quantity
                                       if isinstance(c, dict))[:200],
                     "charge": money_text(rated.get("taxIncludedRatingAmount")
                                          or rated.get("taxExcludedRatingAmount"))})
    return await render(request, "portal/usage.html", {"products": products, "usage": rows,
                                                       "total": total})
