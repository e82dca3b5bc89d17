"""A service's root (``/``): where a person who opens the bare address goes next.

A browser (its ``Accept`` prefers ``text/html``) gets a small HTML page of
links to the service's pages and its API description; every other client
gets the same links as JSON. Either way nobody meets a bare 404 at ``/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiohttp import web
from pydantic import BaseModel, Field

from servicekit.openapi import operation
from servicekit.web import json_response

__all__ = ["Home", "HomeLink", "add_home", "prefers_html"]

_HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept",
}


class HomeLink(BaseModel):
    """One place to go from the root."""

    href: str = Field(description="A path on this service (or an absolute URL).")
    title: str
    description: str = ""


class Home(BaseModel):
    """What ``/`` answers: the service and where to go next."""

    service: str
    description: str
    links: list[HomeLink]


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type`` (RFC 9110 §12.5.1: most specific wins)."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        name = name.lower()
        if name == media_type:
            specificity = 2
        elif name == f"{kind}/*":
            specificity = 1
        elif name == "*/*":
            specificity = 0
        else:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """True when ``accept`` ranks ``text/html`` above ``application/json`` (a browser).

    A tie (``*/*``, no header) goes to JSON: scripts and curl get data.
    """
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def render_html(home: Home) -> str:
    """The root page: a heading, the description and the links."""
    items = "\n".join(
        f'  <li><a href="{escape(link.href)}">{escape(link.title)}</a>'
        + (f" — {escape(link.description)}" if link.description else "")
        + "</li>"
        for link in home.links
    )
    title = escape(home.service)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; max-width: 48rem; }}
  h1 {{ font-size: 1.4rem; }}
  li {{ margin: .4rem 0; overflow-wrap: anywhere; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{escape(home.description)}</p>
<ul>
{items}
</ul>
</body>
</html>
"""


def add_home(app: web.Application, *, service: str, description: str,
             links: Sequence[HomeLink]) -> None:
    """Answer ``GET /`` on ``app`` with ``links`` (HTML for browsers, JSON otherwise)."""
    home = Home(service=service, description=description, links=list(links))
    page = render_html(home)

    @operation("Where to go from here: this service's pages and API description",
               tags=["home"], responses={200: Home})
    async def root(request: web.Request) -> web.Response:
        """JSON by default; an HTML page of the same links when ``Accept`` prefers text/html."""
        if prefers_html(request.headers.get("Accept")):
            return web.Response(text=page, content_type="text/html", headers=_HTML_HEADERS)
        return json_response(home, headers={"Vary": "Accept"})

    app.router.add_get("/", root)
