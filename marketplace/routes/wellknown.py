"""``/.well-known/did.json``: the marketplace's DID document (did:web)."""

from __future__ import annotations

from aiohttp import web

from marketplace.keys import IDENTITY
from servicekit.openapi import operation
from servicekit.web import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/.well-known/did.json")
@operation("The marketplace's DID document (did:web)", tags=["identity"],
           responses={200: {"type": "object"}})
async def did_document(request: web.Request) -> web.Response:
    """Serve the DID document of the marketplace's did:web."""
    return json_response(request.config_dict[IDENTITY].document,
                         content_type="application/did+json")
