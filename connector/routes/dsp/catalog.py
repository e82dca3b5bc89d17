"""DSP catalog protocol: ``POST /catalog/request`` (paged) and ``GET /catalog/datasets/{id}``."""

from __future__ import annotations

from aiohttp import web

from connector.routes.dsp.common import MESSAGE_SCHEMA, authenticate, read_message, services
from servicekit.openapi import operation
from servicekit.web import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()

_TOKEN = {"name": "continuationToken", "in": "query", "required": False,
          "schema": {"type": "string"},
          "description": "Opaque page token from a previous answer's Link rel=\"next\"."}


@routes.post("/catalog/request")
@operation("Request the catalog (CatalogRequestMessage → Catalog)", tags=["dsp-catalog"],
           request=MESSAGE_SCHEMA, responses={200: MESSAGE_SCHEMA}, parameters=[_TOKEN])
async def catalog_request(request: web.Request) -> web.Response:
    """The datasets offered to the caller, a page at a time.

    More pages are announced with ``Link: <...>; rel="next"``; post the same
    message to that URL for the next page.
    """
    caller = await authenticate(request)
    message = await read_message(request, "CatalogRequestMessage")
    catalog, next_token = await services(request).catalog.catalog_page(
        caller, token=request.query.get("continuationToken"), filters=message.get("filter")
    )
    headers = {}
    if next_token is not None:
        base = services(request).catalog.plane.dsp_url
        headers["Link"] = f'<{base}/catalog/request?continuationToken={next_token}>; rel="next"'
    # Validated by the catalog service (envelope + cached per-dataset validation).
    return json_response(catalog, headers=headers)


@routes.get("/catalog/datasets/{dataset_id}")
@operation("Request one dataset (DatasetRequestMessage → Dataset)", tags=["dsp-catalog"],
           responses={200: MESSAGE_SCHEMA})
async def dataset_request(request: web.Request) -> web.Response:
    """A dataset with the offers the caller may request; 404 when nothing is offered to it."""
    caller = await authenticate(request)
    body = await services(request).catalog.dataset_for(caller, request.match_info["dataset_id"])
    return json_response(body)
