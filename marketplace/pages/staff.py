"""The operator's staff: billing runs and payouts, every offering's life cycle, the members.

=====================================  ==============================================
page                                   API
=====================================  ==============================================
``POST /portal/billing/runs``          ``POST /billing/runs``
``POST /portal/payouts/{id}/paid``     ``PATCH /billing/payouts/{id}`` ``paid``
``POST /portal/members/harvest``       ``POST /federation/harvest``
=====================================  ==============================================

Every order and invoice is on the orders pages (:mod:`marketplace.pages.buyer`).
"""

from __future__ import annotations

from aiohttp import web

from marketplace.domain.billing import PayoutPatch, PayoutState
from marketplace.domain.catalog import Kind
from marketplace.pages import PREFIX, STAFF, caller_of, services_of
from marketplace.pages.views import money_text, offering_rows
from servicekit.console.web import page, redirect, render
from servicekit.errors import DataspaceError

__all__ = ["routes"]

routes = web.RouteTableDef()
_STAFF = tuple(sorted(STAFF))


@routes.get(PREFIX + "/billing")
@page("GET", "/billing", "Billing: runs and payouts (staff)", roles=_STAFF)
async def billing(request: web.Request) -> web.StreamResponse:
    """Payouts owed to providers (pending first) and the button that closes the period."""
    found, total = await services_of(request).billing.find_payouts(
        caller_of(request), state=request.query.get("state") or None, limit=100, offset=0)
    rows = [{"id": p["id"], "provider": p.get("provider", ""), "state": p.get("state", ""),
             "period": str((p.get("period") or {}).get("endDateTime") or "")[:10],
             "sales": money_text(p.get("sales")), "fee": money_text(p.get("operatorFee")),
             "payable": money_text(p.get("payable"))} for p in found]
    return await render(request, "portal/billing.html", {"payouts": rows, "total": total})


@routes.post(PREFIX + "/billing/runs")
@page("POST", "/billing/runs", "Run billing now (operator)", roles=("operator",))
async def run_billing(request: web.Request) -> web.StreamResponse:
    """Close every open charge into bills for buyers and payouts for providers."""
    made = await services_of(request).billing.run(caller_of(request), None)
    return redirect(request, "/billing",
                    notice=f"Billing run done: {len(made['bills'])} bills and "
                           f"{len(made['payouts'])} payouts made. Pay the payouts below, "
                           "then mark them paid.")


@routes.post(PREFIX + "/payouts/{id}/paid")
@page("POST", "/payouts/{id}/paid", "Record a payout as paid (operator)", roles=("operator",))
async def payout_paid(request: web.Request) -> web.StreamResponse:
    """pending → paid, as ``PATCH /billing/payouts/{id}``."""
    await services_of(request).billing.patch_payout(
        caller_of(request), request.match_info["id"], PayoutPatch(state=PayoutState.PAID))
    return redirect(request, "/billing", notice="Payout recorded as paid.")


@routes.get(PREFIX + "/catalogue")
@page("GET", "/catalogue", "Every offering and its life cycle (staff)", roles=_STAFF)
async def catalogue(request: web.Request) -> web.StreamResponse:
    """All offerings, whoever sells them, with the moves their life cycle allows."""
    rows = offering_rows(await services_of(request).catalog.mine(caller_of(request),
                                                                  Kind.OFFERING))
    return await render(request, "portal/catalogue.html", {"offerings": rows})


@routes.get(PREFIX + "/members")
@page("GET", "/members", "The member organisations that provide data (staff)", roles=_STAFF)
async def members(request: web.Request) -> web.StreamResponse:
    """The providers in the trust anchor's participant list, and what was harvested."""
    federation = services_of(request).federation
    error = ""
    try:
        providers = await federation.providers()
    except DataspaceError as exc:
        providers, error = [], f"The trust anchor's participant list could not be read: " \
                               f"{exc.detail}"
    rows = []
    for p in providers:
        _, datasets = await federation.find(q=None, publisher=str(p["did"]), limit=1, offset=0)
        rows.append({"did": p["did"], "name": p.get("legal_name") or p["did"],
                     "roles": ", ".join(p.get("roles") or []), "datasets": datasets})
    return await render(request, "portal/members.html", {
        "members": rows, "error": error,
        "connected": federation.trust_anchor_url is not None})


@routes.post(PREFIX + "/members/harvest")
@page("POST", "/members/harvest", "Harvest the providers' catalogs now (operator)",
      roles=("operator",))
async def harvest(request: web.Request) -> web.StreamResponse:
    """As ``POST /federation/harvest``."""
    report = await services_of(request).federation.harvest_now(caller_of(request))
    failed = f"; {len(report.failed)} could not be read" if report.failed else ""
    return redirect(request, "/members",
                    notice=f"Harvested {report.datasets} datasets from {report.providers} "
                           f"providers{failed}.")
