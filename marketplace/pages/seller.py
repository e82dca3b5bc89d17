"""Selling: a provider's products, the orders for them (held ones to approve), its payouts.

=========================================  ============================================
page                                       API
=========================================  ============================================
``POST /portal/sales/products``            ``POST .../productSpecification``, then
                                           ``.../productOfferingPrice`` and
                                           ``.../productOffering`` (as ``dataspace
                                           product register``)
``POST /portal/sales/offerings/{id}``      ``PATCH .../productOffering/{id}``
                                           ``lifecycleStatus``
=========================================  ============================================

Held orders are approved or rejected on the order's page (:mod:`marketplace.pages.buyer`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from marketplace.domain.catalog import Kind, SpecificationIn
from marketplace.domain.pricing import PricingPlan
from marketplace.domain.tmf import parse_query
from marketplace.pages import MEMBER, PREFIX, caller_of, services_of
from marketplace.pages.views import VERBS, money_text, offering_rows, order_view
from servicekit.console.web import form, page, redirect, render
from servicekit.errors import DataspaceError, InvalidRequest

__all__ = ["routes"]

routes = web.RouteTableDef()

_PLAN_KINDS = (("free", "Free"), ("oneTime", "One-time price"),
               ("month", "Monthly subscription"), ("year", "Yearly subscription"),
               ("call", "Pay per call"))


async def _sales_page(request: web.Request, *, error: str = "",
                      fields: dict[str, str] | None = None, status: int = 200
                      ) -> web.StreamResponse:
    who = caller_of(request)
    services = services_of(request)
    rows = offering_rows(await services.catalog.mine(who, Kind.OFFERING))
    sold, _ = await services.orders.find(who, parse_query({"role": "seller"}, limit=100,
                                                          offset=0, keep=frozenset({"role"})))
    sales = [order_view(o) for o in sold]
    payouts, _ = await services.billing.find_payouts(who, state=None, limit=100, offset=0)
    return await render(request, "portal/sales.html", {
        "offerings": rows, "held": [s for s in sales if s["state"] == "held"],
        "sales": sales,
        "payouts": [{"id": p["id"], "state": p.get("state", ""),
                     "period": str((p.get("period") or {}).get("endDateTime") or "")[:10],
                     "sales": money_text(p.get("sales")), "fee": money_text(p.get("operatorFee")),
                     "payable": money_text(p.get("payable"))} for p in payouts],
        "error": error, "form": fields or {}, "plan_kinds": _PLAN_KINDS}, status=status)


@routes.get(PREFIX + "/sales")
@page("GET", "/sales", "Sales: my products, orders for them, my payouts", roles=(MEMBER,))
async def sales(request: web.Request) -> web.StreamResponse:
    """What a provider sells and how it goes."""
    return await _sales_page(request)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _bodies(fields: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The product (specification) and its one plan from the form; both validated here,
    so a bad form stores nothing."""
    traits: list[dict[str, Any]] = []
    for name, values in (("theme", _split(fields.get("themes", ""))),
                         ("format", _split(fields.get("formats", ""))),
                         ("licence", _split(fields.get("licence", ""))[:1]),
                         ("accessLevel", [fields.get("access", "PUBLIC")])):
        if values:
            traits.append({"name": name, "productSpecCharacteristicValue": [
                {"value": v} for v in values]})
    spec: dict[str, Any] = {
        "name": fields.get("name", "").strip(), "dspAddress": fields.get("dsp", "").strip(),
        "datasetIds": _split(fields.get("datasets", "")),
        "productSpecCharacteristic": traits}
    if fields.get("description", "").strip():
        spec["description"] = fields["description"].strip()
    kind = fields.get("kind", "free")
    price = "0" if kind == "free" else fields.get("price", "").strip().replace(",", ".")
    plan: dict[str, Any] = {"name": fields.get("plan", "").strip() or "Standard",
                            "price": {"unit": fields.get("currency", "NOK"), "value": price}}
    if kind in ("free", "oneTime"):
        plan["priceType"] = "oneTime"
    elif kind in ("month", "year"):
        plan |= {"priceType": "recurring", "recurringChargePeriodType": kind}
    elif kind == "call":
        plan |= {"priceType": "usage", "unitOfMeasure": {"amount": 1, "units": "call"}}
    else:
        raise InvalidRequest("choose a kind of plan", code="plan-invalid")
    if fields.get("vat", "").strip():
        plan["tax"] = [{"taxCategory": "VAT", "taxRate": fields["vat"].strip()}]
    SpecificationIn.model_validate(spec)
    PricingPlan.model_validate(plan)
    return spec, plan


def _message(exc: ValidationError | DataspaceError) -> str:
    if isinstance(exc, DataspaceError):
        return exc.detail
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


@routes.post(PREFIX + "/sales/products")
@page("POST", "/sales/products", "Register a data product with one plan", roles=(MEMBER,))
async def register(request: web.Request) -> web.StreamResponse:
    """The product, its plan and an offering (in study), as ``dataspace product register``."""
    fields = await form(request)
    who = caller_of(request)
    catalog = services_of(request).catalog
    try:
        spec_body, plan_body = _bodies(fields)
        spec = await catalog.create(who, Kind.SPECIFICATION, spec_body)
    except (ValidationError, DataspaceError) as exc:
        if isinstance(exc, DataspaceError) and exc.status >= 500:
            raise
        return await _sales_page(request, error=_message(exc), fields=fields, status=400)
    plan = await catalog.create(who, Kind.PRICE, plan_body)
    offering_body: dict[str, Any] = {"name": spec_body["name"],
                                     "productSpecification": {"id": spec["id"]},
                                     "productOfferingPrice": [{"id": plan["id"]}]}
    if "description" in spec_body:
        offering_body["description"] = spec_body["description"]
    offering = await catalog.create(who, Kind.OFFERING, offering_body)
    return redirect(request, "/sales",
                    notice=f"Registered \u201c{offering['name']}\u201d (in study). Offer the "
                           "plan's policy in your connector, then move it to test and launch.")


@routes.post(PREFIX + "/sales/offerings/{id}")
@page("POST", "/sales/offerings/{id}", "Move an offering through its life cycle",
      roles=(MEMBER, "operator"))
async def lifecycle(request: web.Request) -> web.StreamResponse:
    """``lifecycleStatus`` as ``PATCH .../productOffering/{id}`` sets it."""
    fields = await form(request)
    target = fields.get("state", "")
    if target not in VERBS:
        raise InvalidRequest("state is a TMF620 lifecycle status", code="state-invalid")
    changed = await services_of(request).catalog.patch(
        caller_of(request), Kind.OFFERING, request.match_info["id"],
        {"lifecycleStatus": target})
    back = "/sales" if caller_of(request).member else "/catalogue"
    return redirect(request, back, notice=f"\u201c{changed.get('name', '')}\u201d is now {target}.")
