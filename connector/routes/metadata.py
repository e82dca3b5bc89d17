"""Unauthenticated discovery: DSP versions, our DID document, and each port's root page.

The management port's root is two things at one address: the console's
dashboard for a person signed in with a browser, and the API index (JSON
for scripts; an HTML list of links, with the way to sign in, for a browser
nobody signed in to).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.keys import CONTROL_PLANE
from connector.protocol.messages import DSP_VERSION
from connector.protocol.schemas import validator
from connector.settings import ConnectorSettings
from servicekit.console.web import page, principal_of, redirect
from servicekit.errors import NotFound
from servicekit.home import Home, HomeLink, add_home, prefers_html, render_html
from servicekit.openapi import operation
from servicekit.web import json_response

__all__ = ["add_management_root", "add_protocol_root", "routes", "version_document"]

routes = web.RouteTableDef()


def version_document(request: web.Request) -> dict[str, Any]:
    """The ``/.well-known/dspace-version`` body."""
    plane = request.app[CONTROL_PLANE]
    entry: dict[str, Any] = {
        "version": DSP_VERSION,
        "path": "/dsp",
        "binding": "HTTPS",
        "serviceId": f"{plane.did}#dsp",
        "identifierType": ":".join(plane.did.split(":")[:2]) if plane.did.startswith("did:")
        else "uri",
    }
    if plane.auth.protocol:
        entry["auth"] = dict(plane.auth.protocol)
    return {"protocolVersions": [entry]}


@routes.get("/.well-known/dspace-version")
@operation("The Dataspace Protocol versions this connector speaks (unauthenticated)",
           tags=["dsp-metadata"], responses={200: {"type": "object"}})
async def dspace_version(request: web.Request) -> web.Response:
    """DSP 2025-1 over HTTPS at ``/dsp``."""
    document = version_document(request)
    validator().validate(document, "VersionResponse")
    return json_response(document)


@routes.get("/.well-known/did.json")
@operation("Our did:web DID document", tags=["identity"], responses={200: {"type": "object"}})
async def did_document(request: web.Request) -> web.Response:
    """Served when our DID is the did:web of this host."""
    plane = request.app[CONTROL_PLANE]
    if plane.did_document is None or not plane.did.startswith("did:web:"):
        raise NotFound("this connector has no did:web document here", code="did-not-here")
    return json_response(plane.did_document, content_type="application/did+json")


def add_protocol_root(app: web.Application, settings: ConnectorSettings) -> None:
    """``/`` on the protocol port: what a peer or a curious browser can reach here."""
    links = [
        HomeLink(href="/openapi.json", title="API description (OpenAPI 3.1)",
                 description="every route on this port: DSP under /dsp, the data plane, DCP"),
        HomeLink(href="/.well-known/dspace-version", title="Dataspace Protocol versions",
                 description="where DSP 2025-1 is served and how callers authenticate"),
    ]
    if settings.did is None and settings.did_method == "web":
        links.append(HomeLink(href="/.well-known/did.json", title="DID document",
                              description="our did:web identity and its services"))
    links.append(HomeLink(href="/healthz", title="Health"))
    add_home(app, service=f"Connector {settings.name}",
             description="A data-space connector: catalog, contract negotiation and transfer "
             "over the Dataspace Protocol, and the policy-enforcing data plane. DSP calls "
             "need a DCP token; the owner's management API is on another port.",
             links=links)


def add_management_root(app: web.Application, settings: ConnectorSettings) -> None:
    """``/`` on the management port: the console's dashboard for a signed-in browser,
    the owner's API and how to call it for everyone else."""
    from connector.pages.provider_dashboard import dashboard

    home = Home(
        service=f"Connector {settings.name}: management API",
        description="The owner's API: datasets, policies, offers, negotiations, "
        "agreements, transfers, credentials and membership. Every /api/v1 call needs "
        "the admin API key as 'Authorization: Bearer <key>' (`dataspace connector "
        "--help` wraps it), or an API token made in the console.",
        links=[
            HomeLink(href="/openapi.json", title="API description (OpenAPI 3.1)"),
            HomeLink(href="/api/v1/datasets", title="Datasets",
                     description="admin API key needed"),
            HomeLink(href="/api/v1/negotiations", title="Negotiations",
                     description="admin API key needed"),
            HomeLink(href="/api/v1/membership", title="Membership",
                     description="admin API key needed"),
            HomeLink(href="/healthz", title="Health"),
            HomeLink(href="/signin", title="Sign in to the console",
                     description="the web pages: dashboard, datasets, requests, agreements"),
        ])
    index = render_html(home)

    @page("GET", "/", "The dashboard (a signed-in browser), else where to go from here: "
          "this service's pages and API description (JSON for scripts)", roles=None)
    async def root(request: web.Request) -> web.StreamResponse:
        """JSON by default; the dashboard, or an HTML page of the links, for a browser."""
        if not prefers_html(request.headers.get("Accept")):
            return json_response(home, headers={"Vary": "Accept"})
        principal = principal_of(request)
        if principal is not None and principal.stage == "full":
            return await dashboard(request)
        if principal is not None:
            raise redirect(request, "/signin")
        return web.Response(text=index, content_type="text/html", headers={
            "Vary": "Accept", "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    app.router.add_get("/", root)
