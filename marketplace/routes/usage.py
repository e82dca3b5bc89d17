"""TMF635 Usage Management v4: ``/tmf-api/usageManagement/v4/usage``.

``POST`` is for providers' connectors: a TMF635 ``Usage`` with
``X-Usage-Signature`` (a ``usage+jwt`` over the same document, signed by the
provider's DID); 201 with the rated usage, 409 ``usage-exists`` for a report
already received, 401 for a missing or forged signature, 403
``usage-not-sold`` when the marketplace sold no such product. ``GET`` lists
(the operator: all; a provider: the reports it sent) and retrieves one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from marketplace.domain.usage import UsageReport
from marketplace.routes import caller, services
from marketplace.routes.tmf import (
    FIELDS_PARAMETER,
    LIST_PARAMETERS,
    OBJECTS,
    TMF_ERRORS,
    item_response,
    listed,
)
from servicekit.openapi import operation
from servicekit.web import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()

_PATH = "/usageManagement/v4/usage"
_SIGNATURE: dict[str, Any] = {
    "name": "X-Usage-Signature", "in": "header", "required": True,
    "schema": {"type": "string", "maxLength": 16384},
    "description": "A usage+jwt over the same document, signed by the provider's DID.",
}


@routes.post(_PATH)
@operation("Report usage (a provider's connector; signed)", tags=["TMF635 usage"],
           request=UsageReport, parameters=[_SIGNATURE],
           responses={201: UsageReport, **TMF_ERRORS})
async def report_usage(request: web.Request) -> web.Response:
    """Verify the provider's signature, check the marketplace sold the product, rate it once."""
    document = await read_json(request)
    body = await services(request).usage.report(document,
                                                request.headers.get("X-Usage-Signature"))
    return json_response(body, status=201)


@routes.get(_PATH)
@operation("List usage", tags=["TMF635 usage"], parameters=LIST_PARAMETERS,
           responses={200: OBJECTS, **TMF_ERRORS})
async def list_usage(request: web.Request) -> web.Response:
    """The operator sees every report; a provider the reports it sent."""
    return await listed(request, services(request).usage.find)


@routes.get(_PATH + "/{id}")
@operation("Retrieve a usage", tags=["TMF635 usage"], parameters=[FIELDS_PARAMETER],
           responses={200: UsageReport, **TMF_ERRORS})
async def get_usage(request: web.Request) -> web.Response:
    """One usage report (its provider, its buyer or the operator)."""
    body = await services(request).usage.get(await caller(request), request.match_info["id"])
    return item_response(request, body)
