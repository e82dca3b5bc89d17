"""TMF622 Product Ordering v4: ``/tmf-api/productOrderingManagement/v4``.

``productOrder``: list (TMF630 filters; ``role=seller`` lists the orders for
the caller's offerings), create (201), retrieve, ``PATCH`` (approve, reject,
cancel, notes: JSON merge patch) and ``DELETE`` (an order that is over).
``cancelProductOrder``: create (the order is cancelled at once, ``state``
``done``), list and retrieve.
"""

from __future__ import annotations

from aiohttp import web

from marketplace.domain.ordering import (
    CancelProductOrderCreate,
    ProductOrderCreate,
    ProductOrderPatch,
)
from marketplace.routes import caller, services
from marketplace.routes.tmf import (
    FIELDS_PARAMETER,
    LIST_PARAMETERS,
    OBJECT,
    OBJECTS,
    TMF_ERRORS,
    item_response,
    listed,
)
from servicekit.openapi import operation, query_strings
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()

_BASE = "/productOrderingManagement/v4"
_TAGS = ["TMF622 product ordering"]
_ROLE = query_strings("role", role="seller: the orders for the caller's offerings")


@routes.get(f"{_BASE}/productOrder")
@operation("List product orders", tags=_TAGS, parameters=[*LIST_PARAMETERS, *_ROLE],
           responses={200: OBJECTS, **TMF_ERRORS})
async def list_orders(request: web.Request) -> web.Response:
    """The caller's orders (the operator: all), newest first."""
    return await listed(request, services(request).orders.find, keep=("role",))


@routes.post(f"{_BASE}/productOrder")
@operation("Place a product order", tags=_TAGS, request=ProductOrderCreate,
           responses={201: OBJECT, **TMF_ERRORS})
async def create_order(request: web.Request) -> web.Response:
    """Order one offering on one of its plans, as the caller (the operator names a buyer)."""
    body = await parse_body(request, ProductOrderCreate)
    who = await caller(request)
    return json_response(await services(request).orders.place(who, body), status=201)


@routes.get(f"{_BASE}/productOrder/{{id}}")
@operation("Retrieve a product order", tags=_TAGS, parameters=[FIELDS_PARAMETER],
           responses={200: OBJECT, **TMF_ERRORS})
async def retrieve_order(request: web.Request) -> web.Response:
    """One order: its buyer's, its seller's, or the operator's."""
    who = await caller(request)
    return item_response(request, await services(request).orders.get(
        who, request.match_info["id"]))


@routes.patch(f"{_BASE}/productOrder/{{id}}")
@operation("Change a product order", tags=_TAGS, request=ProductOrderPatch,
           responses={200: OBJECT, **TMF_ERRORS})
async def patch_order(request: web.Request) -> web.Response:
    """``state``: ``inProgress`` approves a held order (the seller), ``rejected`` refuses
    it, ``cancelled`` cancels (the buyer); ``note`` entries are added."""
    patch = await parse_body(request, ProductOrderPatch)
    who = await caller(request)
    return json_response(await services(request).orders.patch(
        who, request.match_info["id"], patch))


@routes.delete(f"{_BASE}/productOrder/{{id}}")
@operation("Delete a product order that is over", tags=_TAGS, responses={204: None, **TMF_ERRORS})
async def delete_order(request: web.Request) -> web.Response:
    """Only a rejected, failed or cancelled order; its buyer or the operator."""
    who = await caller(request)
    await services(request).orders.delete(who, request.match_info["id"])
    return web.Response(status=204)


@routes.get(f"{_BASE}/cancelProductOrder")
@operation("List cancellation requests", tags=_TAGS, parameters=LIST_PARAMETERS,
           responses={200: OBJECTS, **TMF_ERRORS})
async def list_cancellations(request: web.Request) -> web.Response:
    """The caller's cancellation requests (the operator: all)."""
    return await listed(request, services(request).orders.find_cancellations)


@routes.post(f"{_BASE}/cancelProductOrder")
@operation("Cancel a product order", tags=_TAGS, request=CancelProductOrderCreate,
           responses={201: OBJECT, **TMF_ERRORS})
async def create_cancellation(request: web.Request) -> web.Response:
    """Cancel the order now (a completed order's product ends, its credential is revoked)."""
    body = await parse_body(request, CancelProductOrderCreate)
    who = await caller(request)
    return json_response(await services(request).orders.request_cancellation(who, body),
                         status=201)


@routes.get(f"{_BASE}/cancelProductOrder/{{id}}")
@operation("Retrieve a cancellation request", tags=_TAGS, parameters=[FIELDS_PARAMETER],
           responses={200: OBJECT, **TMF_ERRORS})
async def retrieve_cancellation(request: web.Request) -> web.Response:
    """One cancellation request: its buyer's or the operator's."""
    who = await caller(request)
    return item_response(request, await services(request).orders.get_cancellation(
        who, request.match_info["id"]))
