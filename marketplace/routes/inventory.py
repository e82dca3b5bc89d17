"""TMF637 Product Inventory v4: ``/tmf-api/productInventory/v4/product``.

List (TMF630 filters; ``role=seller`` lists what the caller sold), retrieve,
``PATCH`` (``status``: the operator suspends, reactivates, terminates; the
buyer may terminate; ``autoRenew``) and ``DELETE`` (a terminated product).
Products are created by completed orders, never posted.
"""

from __future__ import annotations

from aiohttp import web

from marketplace.domain.inventory import ProductPatch
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

_PATH = "/productInventory/v4/product"
_TAGS = ["TMF637 product inventory"]
_ROLE = query_strings("role", role="seller: the products the caller sold")


@routes.get(_PATH)
@operation("List inventory products", tags=_TAGS, parameters=[*LIST_PARAMETERS, *_ROLE],
           responses={200: OBJECTS, **TMF_ERRORS})
async def list_products(request: web.Request) -> web.Response:
    """The caller's products (the operator: all), newest first."""
    return await listed(request, services(request).inventory.find, keep=("role",))


@routes.get(f"{_PATH}/{{id}}")
@operation("Retrieve an inventory product", tags=_TAGS, parameters=[FIELDS_PARAMETER],
           responses={200: OBJECT, **TMF_ERRORS})
async def retrieve_product(request: web.Request) -> web.Response:
    """One product: its buyer's, its seller's, or the operator's."""
    who = await caller(request)
    return item_response(request, await services(request).inventory.get(
        who, request.match_info["id"]))


@routes.patch(f"{_PATH}/{{id}}")
@operation("Change an inventory product", tags=_TAGS, request=ProductPatch,
           responses={200: OBJECT, **TMF_ERRORS})
async def patch_product(request: web.Request) -> web.Response:
    """``status`` (operator: suspended, active, terminated; buyer: terminated), ``autoRenew``."""
    patch = await parse_body(request, ProductPatch)
    who = await caller(request)
    return json_response(await services(request).inventory.patch(
        who, request.match_info["id"], patch))


@routes.delete(f"{_PATH}/{{id}}")
@operation("Delete a terminated product", tags=_TAGS, responses={204: None, **TMF_ERRORS})
async def delete_product(request: web.Request) -> web.Response:
    """Only a terminated product; its buyer or the operator."""
    who = await caller(request)
    await services(request).inventory.delete(who, request.match_info["id"])
    return web.Response(status=204)
