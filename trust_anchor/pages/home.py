"""The console's home: the operator's figures and newest applications, or, for a member
organisation signed in with its credential, its own record."""

from __future__ import annotations

from aiohttp import web

from servicekit.console.errors import RoleRequired
from servicekit.console.web import page, render, signed_in
from trust_anchor.pages import STAFF, services
from trust_anchor.pages.views import member_context

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/operator")
@page("GET", "/", "The operator console's home (or a member's own record)")
async def home(request: web.Request) -> web.StreamResponse:
    """Applications waiting, members by status, issuers and the newest applications; a
    member organisation sees its application, its history and its credentials."""
    principal = signed_in(request)
    if principal.has(*STAFF):
        found = services(request)
        counts = await found.registry.counts()
        issuers = await found.registry.issuers(after=None, limit=1)
        return await render(request, "operator/home.html", {
            "counts": {str(state): n for state, n in counts.items()},
            "issuers": issuers.total,
            "newest": await found.registry.newest(10),
        })
    if principal.kind == "organisation":
        return await render(request, "operator/member.html",
                            await member_context(request, principal.subject))
    raise RoleRequired("this console is for the operator's staff and member organisations")
