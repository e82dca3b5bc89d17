"""``GET /search``: find data products by free text and facets, with facet counts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from marketplace.domain.search import FACETS, search_query
from marketplace.routes import caller, services, settings
from servicekit.openapi import operation
from servicekit.paging import PAGING, paging
from servicekit.web import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()

_OFFERINGS = "/tmf-api/productCatalogManagement/v4/productOffering/"

_RESULT: dict[str, Any] = {
    "type": "object", "required": ["total", "hits", "facets"],
    "properties": {
        "total": {"type": "integer"},
        "hits": {"type": "array", "items": {
            "type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "score": {"type": "number"}, "href": {"type": "string"}}}},
        "facets": {"type": "object", "additionalProperties": {"type": "array", "items": {
            "type": "object", "properties": {"value": {"type": "string"},
                                             "count": {"type": "integer"}}}}},
    },
}


@routes.get("/search")
@operation(
    "Search the data products", tags=["search"],
    parameters=[
        {"name": "q", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 200},
         "description": "Words, each matched as a prefix in the title, description or themes."},
        *({"name": facet, "in": "query", "required": False, "schema": {"type": "string"},
           "description": f"Only products with this {facet} (comma-separated: any of them)."}
          for facet in FACETS),
        *PAGING,
    ],
    responses={200: _RESULT, 400: "A query that is too long or a facet without a value."},
)
async def search(request: web.Request) -> web.Response:
    """Products the caller may see (launched public ones, and its own), words in the title first.

    Facet counts are over every match, not just this page.
    """
    limit, offset = paging(request)
    query = search_query(request.query, limit=limit, offset=offset)
    found = await services(request).search.find(query, await caller(request))
    base = settings(request).base_url + _OFFERINGS
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for count in found.facets:
        facets[count.facet].append({"value": count.value, "count": count.count})
    return json_response({
        "total": found.total,
        "hits": [{"id": hit.id, "title": hit.title, "score": hit.score, "href": base + hit.id}
                 for hit in found.hits],
        "facets": facets,
    }, headers={"X-Total-Count": str(found.total), "X-Result-Count": str(len(found.hits))})
