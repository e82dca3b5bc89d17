"""The operator web page: a static page that calls the admin API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from servicekit.openapi import operation

__all__ = ["setup"]

_STATIC = Path(__file__).resolve().parent.parent / "static"
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@operation("The operator's web page (HTML)", tags=["operator"],
           response_content_type="text/html", responses={200: "The page"})
async def page(_request: web.Request) -> web.Response:
    """Review, approve, reject, suspend and revoke participants in a browser."""
    return web.Response(body=(_STATIC / "operator.html").read_bytes(),
                        content_type="text/html", headers=_HEADERS)


@operation("The operator page's script", tags=["operator"],
           response_content_type="text/javascript", responses={200: "The script"})
async def script(_request: web.Request) -> web.Response:
    """The page's JavaScript."""
    return web.Response(body=(_STATIC / "operator.js").read_bytes(),
                        content_type="text/javascript", headers=_HEADERS)


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/operator", page)
    app.router.add_get("/operator/operator.js", script)
