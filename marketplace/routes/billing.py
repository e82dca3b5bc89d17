"""TMF678 Customer Bill Management v4, the bill's CSV and printable page, payouts and billing runs.

Under ``/tmf-api`` (:data:`routes`): ``customerBill`` (list, retrieve, and
``PATCH`` of ``state`` by the operator), ``customerBill/{id}/bill.csv`` and
``customerBill/{id}/bill.html`` (the same bill as CSV and as a page that
prints and fits a phone), and ``appliedCustomerBillingRate`` (a bill's lines;
``bill.id=`` lists one bill's). On the service itself (:data:`payout_routes`):
``POST /billing/runs`` (the operator closes the period now),
``GET /billing/payouts`` and ``/billing/payouts/{id}`` (the operator: all; a
provider: its own), ``PATCH /billing/payouts/{id}`` (the operator: ``paid``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict

from marketplace.domain.bill_views import HTML_HEADERS, bill_csv, bill_html
from marketplace.domain.billing import BillPatch, PayoutPatch, PayoutState
from marketplace.routes import caller, services, settings
from marketplace.routes.tmf import (
    FIELDS_PARAMETER,
    LIST_PARAMETERS,
    OBJECT,
    OBJECTS,
    TMF_ERRORS,
    item_response,
    listed,
)
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.paging import PAGING, paging
from servicekit.web import json_response, parse_body

__all__ = ["payout_routes", "routes"]

routes = web.RouteTableDef()
payout_routes = web.RouteTableDef()

_BILLS = "/customerBillManagement/v4/customerBill"
_RATES = "/customerBillManagement/v4/appliedCustomerBillingRate"
_TAGS = ["TMF678 customer bills"]
_PROBLEMS: dict[int, Any] = {400: "Bad input", 401: "Not signed in", 403: "Not allowed",
                             404: "No such payout", 409: "Conflict"}


@routes.get(_BILLS)
@operation("List customer bills", tags=_TAGS, parameters=LIST_PARAMETERS,
           responses={200: OBJECTS, **TMF_ERRORS})
async def list_bills(request: web.Request) -> web.Response:
    """The operator sees every bill; a member the bills it is the customer of."""
    return await listed(request, services(request).billing.find_bills)


@routes.get(_BILLS + "/{id}")
@operation("Retrieve a customer bill", tags=_TAGS, parameters=[FIELDS_PARAMETER],
           responses={200: OBJECT, **TMF_ERRORS})
async def get_bill(request: web.Request) -> web.Response:
    """One bill."""
    body = await services(request).billing.get_bill(await caller(request),
                                                    request.match_info["id"])
    return item_response(request, body)


@routes.patch(_BILLS + "/{id}")
@operation("Change a customer bill's state (operator)", tags=_TAGS, request=BillPatch,
           request_content_type="application/merge-patch+json",
           responses={200: OBJECT, **TMF_ERRORS})
async def patch_bill(request: web.Request) -> web.Response:
    """Move the bill along new → sent → settled (or onHold, partiallyPaid...)."""
    patch = await parse_body(request, BillPatch)
    body = await services(request).billing.patch_bill(await caller(request),
                                                      request.match_info["id"], patch)
    return json_response(body)


@routes.get(_BILLS + "/{id}/bill.csv")
@operation("A customer bill as CSV", tags=_TAGS, response_content_type="text/csv",
           responses={200: "The bill's lines, VAT per rate and totals", **TMF_ERRORS})
async def bill_as_csv(request: web.Request) -> web.Response:
    """One row per line, then the VAT per rate and the totals."""
    doc = await services(request).billing.document(await caller(request),
                                                   request.match_info["id"])
    return web.Response(
        text=bill_csv(doc.bill, doc.section, doc.products), content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{doc.bill["billNo"]}.csv"'})


@routes.get(_BILLS + "/{id}/bill.html")
@operation("A customer bill as a printable page", tags=_TAGS,
           response_content_type="text/html",
           responses={200: "The bill as HTML (no script; prints; fits 390 px)", **TMF_ERRORS})
async def bill_as_html(request: web.Request) -> web.Response:
    """The bill as a page to read and print."""
    doc = await services(request).billing.document(await caller(request),
                                                   request.match_info["id"])
    page = bill_html(doc.bill, doc.section, doc.products,
                     issuer_name=settings(request).operator_name)
    return web.Response(text=page, content_type="text/html", headers=HTML_HEADERS)


@routes.get(_RATES)
@operation("List applied customer billing rates (bill lines)", tags=_TAGS,
           parameters=LIST_PARAMETERS, responses={200: OBJECTS, **TMF_ERRORS})
async def list_rates(request: web.Request) -> web.Response:
    """Charges (billed or not yet), filtered by ``bill.id`` or ``product.id``."""
    return await listed(request, services(request).billing.find_rates)


@routes.get(_RATES + "/{id}")
@operation("Retrieve an applied customer billing rate", tags=_TAGS,
           responses={200: OBJECT, **TMF_ERRORS})
async def get_rate(request: web.Request) -> web.Response:
    """One charge."""
    body = await services(request).billing.get_rate(await caller(request),
                                                    request.match_info["id"])
    return json_response(body)


# --- payouts and runs ---------------------------------------------------------------------


class BillingRun(BaseModel):
    """Close the period: bill what was used before ``until`` (default: now)."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = None


class BillingRunResult(BaseModel):
    """The bills and payouts a run made."""

    bills: list[dict[str, Any]]
    payouts: list[dict[str, Any]]


_STATE_PARAMETER: dict[str, Any] = {
    "name": "state", "in": "query", "required": False,
    "schema": {"type": "string", "enum": [s.value for s in PayoutState]}}


@payout_routes.post("/billing/runs")
@operation("Run billing now (operator)", tags=["billing"], request=BillingRun,
           responses={201: BillingRunResult, **_PROBLEMS}, security="bearer")
async def run_billing(request: web.Request) -> web.Response:
    """Close every open charge used before ``until`` into bills and payouts."""
    run = await parse_body(request, BillingRun)
    made = await services(request).billing.run(await caller(request), run.until)
    return json_response(made, status=201)


@payout_routes.get("/billing/payouts")
@operation("List payouts", tags=["billing"], parameters=[*PAGING, _STATE_PARAMETER],
           responses={200: OBJECTS, **_PROBLEMS})
async def list_payouts(request: web.Request) -> web.Response:
    """The operator sees all; a provider what it is owed."""
    limit, offset = paging(request)
    state = request.query.get("state")
    if state is not None and state not in {s.value for s in PayoutState}:
        raise InvalidRequest("state is pending or paid", code="filter-invalid")
    items, total = await services(request).billing.find_payouts(
        await caller(request), state=state, limit=limit, offset=offset)
    return json_response(items, headers={"X-Total-Count": str(total),
                                         "X-Result-Count": str(len(items))})


@payout_routes.get("/billing/payouts/{id}")
@operation("Retrieve a payout", tags=["billing"], responses={200: OBJECT, **_PROBLEMS})
async def get_payout(request: web.Request) -> web.Response:
    """One payout."""
    body = await services(request).billing.get_payout(await caller(request),
                                                      request.match_info["id"])
    return json_response(body)


@payout_routes.patch("/billing/payouts/{id}")
@operation("Record a payout as paid (operator)", tags=["billing"], request=PayoutPatch,
           responses={200: OBJECT, **_PROBLEMS}, security="bearer")
async def patch_payout(request: web.Request) -> web.Response:
    """pending → paid."""
    patch = await parse_body(request, PayoutPatch)
    body = await services(request).billing.patch_payout(await caller(request),
                                                        request.match_info["id"], patch)
    return json_response(body)
