"""The shop: search with facets (anyone), a product with its plans, and ordering one (members).

``GET /portal`` calls the search service as ``GET /search`` does; ``GET
/portal/products/{id}`` reads the offering's terms as ``GET .../productOffering/{id}``
does; ``POST /portal/products/{id}/order`` places the order as ``POST
.../productOrder`` does (the member orders as itself).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from marketplace.domain.catalog import Kind
from marketplace.domain.ordering import ProductOrderCreate
from marketplace.domain.search import FACETS, search_query
from marketplace.pages import MEMBER, PREFIX, caller_of, services_of
from marketplace.pages.views import FACET_LABELS, plan_view, spec_facts
from marketplace.services.catalog_rules import OfferingTerms
from servicekit.console.web import form, page, redirect, render
from servicekit.errors import DataspaceError, InvalidRequest

__all__ = ["routes"]

routes = web.RouteTableDef()
_PAGE = 20


def _query(request: web.Request) -> dict[str, str]:
    """The search's parameters: a facet's ticked values joined with commas."""
    params = {"q": request.query.get("q", "")}
    for name in FACETS:
        values = [v for v in request.query.getall(name, []) if v]
        if values:
            params[name] = ",".join(values)
    return params


def _offset(request: web.Request) -> int:
    raw = request.query.get("offset", "0")
    if not raw.isdigit() or int(raw) > 100_000:
        raise InvalidRequest("offset is a whole number", code="paging-invalid")
    return int(raw)


@routes.get(PREFIX)
@page("GET", "/", "The shop: search the data products", roles=None)
async def home(request: web.Request) -> web.StreamResponse:
    """Free text and facets (with counts over every match), and a page of results."""
    params = _query(request)
    who = caller_of(request)
    try:
        offset = _offset(request)
        found = await services_of(request).search.find(
            search_query(params, limit=_PAGE, offset=offset), who)
    except InvalidRequest as error:
        return await render(request, "portal/home.html", {
            "error": error.detail, "params": params, "facets": [], "hits": [], "total": 0,
            "offset": 0, "labels": FACET_LABELS, "more": None}, status=400)
    chosen = {name: set(value.split(",")) for name, value in params.items() if name != "q"}
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    names = await services_of(request).federation.publisher_names()
    for count in found.facets:
        label = names.get(count.value, count.value) if count.facet == "publisher" \
            else count.value
        facets[count.facet].append({"value": count.value, "count": count.count,
                                    "label": label,
                                    "checked": count.value in chosen.get(count.facet, set())})
    hits = []
    catalog = services_of(request).catalog
    for hit in found.hits:
        offering = await catalog.get(who, Kind.OFFERING, hit.id)
        hits.append({"id": hit.id, "title": hit.title,
                     "description": str(offering.get("description") or "")[:300],
                     "state": offering.get("lifecycleStatus")})
    more = None
    if offset + _PAGE < found.total:
        query = request.rel_url.query.copy()
        query["offset"] = str(offset + _PAGE)
        more = request.rel_url.with_query(query).path_qs
    return await render(request, "portal/home.html", {
        "params": params, "facets": [(n, facets[n]) for n in FACETS if facets[n]],
        "hits": hits, "total": found.total, "offset": offset, "labels": FACET_LABELS,
        "more": more})


async def _product_page(request: web.Request, terms: OfferingTerms, *,
                        error: str = "", fields: dict[str, str] | None = None,
                        status: int = 200) -> web.StreamResponse:
    spec = terms.specification or {}
    product_id = str(spec.get("id") or terms.id)
    plans = [plan_view(plan_id, plan, product_id=product_id, provider=terms.provider)
             for plan_id, plan in terms.plans.items()]
    facts = dict(spec_facts(spec))
    return await render(request, "portal/product.html", {
        "offering": terms.offering, "spec": spec, "facts": spec_facts(spec),
        "restricted": facts.get("Access level") == "RESTRICTED",
        "provider": terms.provider, "plans": plans, "orderable": terms.orderable,
        "datasets": list(spec.get("datasetIds") or []), "error": error,
        "form": fields or {}}, status=status)


@routes.get(PREFIX + "/products/{id}")
@page("GET", "/products/{id}", "A data product: its plans, prices and policies", roles=None)
async def product(request: web.Request) -> web.StreamResponse:
    """The offering, its data product and datasets, the provider, each plan in plain words."""
    terms = await services_of(request).catalog.terms(caller_of(request), request.match_info["id"])
    return await _product_page(request, terms)


@routes.post(PREFIX + "/products/{id}/order")
@page("POST", "/products/{id}/order", "Order a data product on one of its plans",
      roles=(MEMBER,))
async def order(request: web.Request) -> web.StreamResponse:
    """Place the order (as ``POST .../productOrder``); then its page, with what to do next."""
    fields = await form(request)
    who = caller_of(request)
    offering_id = request.match_info["id"]
    services = services_of(request)
    body: dict[str, Any] = {"productOrderItem": [{
        "id": "1", "action": "add", "productOffering": {"id": offering_id},
        "itemPrice": [{"productOfferingPrice": {"id": fields.get("plan", "")}}]}]}
    if fields.get("purpose", "").strip():
        body["purpose"] = fields["purpose"].strip()
    try:
        placed = await services.orders.place(who, ProductOrderCreate.model_validate(body))
    except (ValidationError, DataspaceError) as exc:
        if isinstance(exc, DataspaceError) and exc.status not in (400, 409, 422):
            raise
        terms = await services.catalog.terms(who, offering_id)
        detail = exc.detail if isinstance(exc, DataspaceError) else \
            "choose one of the plans" if not fields.get("plan") else \
            "the order is not valid: " + "; ".join(e["msg"] for e in exc.errors()[:3])
        return await _product_page(request, terms, error=detail, fields=fields, status=400)
    state = placed.get("state")
    notice = {
        "completed": "Ordered. Your purchase credential is on its way to your connector.",
        "held": "Ordered. The provider approves orders of this product first; you will "
                "see the answer here.",
        "inProgress": "Ordered. Pay the invoice below; the order completes when it is paid.",
    }.get(str(state), "Ordered.")
    return redirect(request, f"/orders/{placed['id']}", notice=notice)
