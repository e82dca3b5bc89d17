"""The status lists of the purchase credentials we issue, at stable URLs, with caching headers."""

from __future__ import annotations

from aiohttp import web

from identity.credential_issuer import STATUS_PATH
from marketplace.routes import services, settings
from servicekit.openapi import operation
from servicekit.web import cached_response

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get(STATUS_PATH + "/{list_id}")
@operation("A status list credential of our purchase credentials (vc+jwt)", tags=["status"],
           response_content_type="application/vc+jwt",
           responses={200: "The signed BitstringStatusListCredential", 304: "Not modified"})
async def status_list(request: web.Request) -> web.Response:
    """Serve the list; ``ETag`` is its version, ``Cache-Control`` bounds how long to keep it."""
    list_id = request.match_info["list_id"]
    token, version = await services(request).purchases.status_list(list_id)
    return cached_response(request, token, content_type="application/vc+jwt",
                           etag=f"{list_id}-{version}",
                           max_age=settings(request).status_list_max_age)
