"""The operator web page: a static page that calls the admin API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from servicekit.openapi import operation

__all__ = ["routes"]

routes = web.RouteTableDef()

_STATIC = Path(__file__).resolve().parent.parent / "static"
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _static(path: str, name: str, content_type: str, summary: str, what: str,
            doc: str) -> None:
    """Serve ``static/<name>`` at ``path`` with the page's security headers."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=(_STATIC / name).read_bytes(), content_type=content_type,
                            headers=_HEADERS)

    handler.__name__ = name.replace(".", "_")
    handler.__doc__ = doc
    routes.get(path)(operation(summary, tags=["operator"], response_content_type=content_type,
                               responses={200: what})(handler))


_static("/operator", "operator.html", "text/html", "The operator's web page (HTML)",
        "The page", "Review, approve, reject, suspend and revoke participants in a browser.")
_static("/operator/operator.js", "operator.js", "text/javascript",
        "The operator page's script", "The script", "The page's JavaScript.")
