"""Unauthenticated discovery on the main port: DSP versions and our DID document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.keys import CONTROL_PLANE
from connector.protocol.messages import DSP_VERSION
from connector.protocol.schemas import validator
from servicekit.errors import NotFound
from servicekit.openapi import operation
from servicekit.web import json_response

__all__ = ["routes", "version_document"]

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
