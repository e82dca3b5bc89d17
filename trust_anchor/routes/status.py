"""Bitstring status list credentials at stable URLs, with caching headers."""

from __future__ import annotations

from aiohttp import web

from servicekit.openapi import operation
from servicekit.web import cached_response
from trust_anchor.routes import services, settings

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/status/{list_id}")
@operation("A status list credential (vc+jwt)", tags=["status"],
           response_content_type="application/vc+jwt",
           responses={200: "The signed BitstringStatusListCredential", 304: "Not modified"})
async def status_list(request: web.Request) -> web.Response:
    """Serve the list; ``ETag`` is its version, ``Cache-Control`` bounds how long to keep it."""
    list_id = request.match_info["list_id"]
    token, version = await services(request).issuance.status_list(list_id)
    return cached_response(request, token, content_type="application/vc+jwt",
                           etag=f"{list_id}-{version}",
                           max_age=settings(request).status_list_max_age)
