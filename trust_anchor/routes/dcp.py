"""Decentralized Claims Protocol 1.0 issuer service: metadata, requests, their status.

``POST /credentials`` takes a holder's ``CredentialRequestMessage`` (with a
self-issued token whose ``token`` claim lets us write to the holder's
Credential Service) and answers 201 with ``Location: /requests/{id}``;
issuance and delivery happen in a background job. ``GET /requests/{id}``
answers the ``CredentialStatus`` to the holder that asked.
"""

from __future__ import annotations

from aiohttp import web

from servicekit.auth import bearer_token
from servicekit.openapi import operation
from servicekit.web import json_response, read_json
from trust_anchor.routes import services

__all__ = ["routes"]

routes = web.RouteTableDef()

_DCP_SCHEMA = {"type": "object", "description": "A DCP 1.0 message (see the DCP schemas)."}


@routes.get("/metadata")
@operation("The DCP issuer metadata: which credentials members may request", tags=["dcp"],
           responses={200: _DCP_SCHEMA})
async def metadata(request: web.Request) -> web.Response:
    """``IssuerMetadata`` with one ``CredentialObject`` per requestable type."""
    return json_response(services(request).dcp.metadata())


@routes.get("/schemas/{credential_type}.json")
@operation("The JSON Schema of a credential type we issue", tags=["dcp"],
           responses={200: {"type": "object"}})
async def schema(request: web.Request) -> web.Response:
    """``credentialSchema`` of the issuer metadata points here."""
    return json_response(services(request).dcp.schema(request.match_info["credential_type"]),
                         content_type="application/schema+json")


@routes.post("/credentials")
@operation("Request credentials (DCP CredentialRequestMessage)", tags=["dcp"],
           request=_DCP_SCHEMA, responses={201: "Received; follow the Location"},
           security="bearer")
async def request_credentials(request: web.Request) -> web.Response:
    """Record the request and leave issuance and delivery to a job."""
    dcp = services(request).dcp
    caller = await dcp.caller(bearer_token(request), require_token=True)
    request_id = await dcp.receive(caller, await read_json(request))
    return web.Response(status=201, headers={"Location": f"/requests/{request_id}"})


@routes.get("/requests/{request_id}")
@operation("The status of a credential request (DCP CredentialStatus)", tags=["dcp"],
           responses={200: _DCP_SCHEMA}, security="bearer")
async def request_status(request: web.Request) -> web.Response:
    """Only the holder that asked may see its request."""
    dcp = services(request).dcp
    caller = await dcp.caller(bearer_token(request))
    return json_response(await dcp.status(caller, request.match_info["request_id"]))
