"""Our DCP 1.0 ``IssuerService`` under ``/dcp/issuer``: buyers' connectors collect purchases.

We offer a purchase credential to the buyer's Credential Service; its
connector asks for it here with a ``CredentialRequestMessage`` under a
self-issued token to our DID (carrying a write access token), and a job
delivers it. Errors are problem+json.
"""

from __future__ import annotations

from aiohttp import web

from marketplace.routes import services
from marketplace.services.purchases import ISSUER_SERVICE_PATH
from servicekit.auth import bearer_token
from servicekit.openapi import operation
from servicekit.web import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()

_DCP_SCHEMA = {"type": "object", "description": "A DCP 1.0 message (see the DCP schemas)."}


@routes.get(ISSUER_SERVICE_PATH + "/metadata")
@operation("The DCP issuer metadata: the purchase credentials we offer", tags=["dcp"],
           responses={200: _DCP_SCHEMA})
async def metadata(request: web.Request) -> web.Response:
    """``IssuerMetadata`` with the purchase credential's ``CredentialObject``."""
    return json_response(services(request).purchases.metadata())


@routes.post(ISSUER_SERVICE_PATH + "/credentials")
@operation("Request offered purchase credentials (DCP CredentialRequestMessage)",
           tags=["dcp"], request=_DCP_SCHEMA,
           responses={201: "Received; follow the Location"}, security="bearer")
async def request_credentials(request: web.Request) -> web.Response:
    """Record the request and leave delivery to a job."""
    purchases = services(request).purchases
    caller = await purchases.caller(bearer_token(request), require_token=True)
    request_id = await purchases.receive(caller, await read_json(request))
    return web.Response(status=201, headers={
        "Location": f"{ISSUER_SERVICE_PATH}/requests/{request_id}"})


@routes.get(ISSUER_SERVICE_PATH + "/requests/{request_id}")
@operation("The status of a credential request (DCP CredentialStatus)", tags=["dcp"],
           responses={200: _DCP_SCHEMA}, security="bearer")
async def request_status(request: web.Request) -> web.Response:
    """Only the connector that asked may see its request."""
    purchases = services(request).purchases
    caller = await purchases.caller(bearer_token(request))
    return json_response(await purchases.request_status(caller, request.match_info["request_id"]))
