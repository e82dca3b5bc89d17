"""Bitstring status list credentials at stable URLs, with caching headers."""

from __future__ import annotations

from aiohttp import web

from servicekit.openapi import operation
from trust_anchor.state import ISSUER, TA_SETTINGS
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]


@operation("A status list credential (vc+jwt)", tags=["status"],
           response_content_type="application/vc+jwt",
           responses={200: "The signed BitstringStatusListCredential", 304: "Not modified"})
async def status_list(request: web.Request) -> web.Response:
    """Serve the list; ``ETag`` is its version, ``Cache-Control`` bounds how long to keep it."""
    list_id = request.match_info["list_id"]
    async with engine_of(request).connect() as conn:
        token, version = await request.config_dict[ISSUER].status_list_credential(conn, list_id)
    etag = f'"{list_id}-{version}"'
    max_age = request.config_dict[TA_SETTINGS].status_list_max_age
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(text=token, content_type="application/vc+jwt", headers=headers)


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/status/{list_id}", status_list)
