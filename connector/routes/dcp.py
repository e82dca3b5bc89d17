"""Our Credential Service (DCP 1.0) on the public port, under ``/dcp``.

Our DID document lists ``<base_url>/dcp`` as ``CredentialService``. Its
endpoints (presentation query, credential offer, storage) authenticate the
caller by its self-issued token (``aud`` = our DID); errors are problem+json.
Nothing administrative lives here: the owner manages our credentials on the
management port.
"""

from __future__ import annotations

from aiohttp import web

from connector.keys import SERVICES
from connector.trust import CREDENTIAL_SERVICE_PATH
from servicekit.openapi import operation
from servicekit.web import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_DCP = {"type": "object", "description": "A DCP 1.0 message (see the DCP JSON Schemas)."}


@routes.post(CREDENTIAL_SERVICE_PATH + "/presentations/query")
@operation("DCP presentation query (PresentationQueryMessage → PresentationResponseMessage)",
           tags=["dcp"], request=_DCP, responses={200: _DCP}, security="bearer")
async def presentation_query(request: web.Request) -> web.Response:
    """A verifier reads our credentials with the access token we gave it.

    Only what the query asks for *and* the token grants is presented; asking
    for more is not an error, the answer just holds less.
    """
    body = await read_json(request)
    answer = await request.config_dict[SERVICES].holder.answer_query(
        request.headers.get("Authorization"), body)
    return json_response(answer)


@routes.post(CREDENTIAL_SERVICE_PATH + "/offers")
@operation("DCP credential offer: an issuer offers us credentials (CredentialOfferMessage)",
           tags=["dcp"], request=_DCP, responses={200: None}, security="bearer")
async def credential_offer(request: web.Request) -> web.Response:
    """Requested from the issuer at once if the registry accredits it for what it offers."""
    body = await read_json(request)
    await request.config_dict[SERVICES].holder.offered(request.headers.get("Authorization"), body)
    return web.Response(status=200)


@routes.post(CREDENTIAL_SERVICE_PATH + "/credentials")
@operation("DCP storage: an issuer delivers credentials we requested (CredentialMessage)",
           tags=["dcp"], request=_DCP, responses={204: None}, security="bearer")
async def store_credentials(request: web.Request) -> web.Response:
    """Accepted from the issuer we asked, for our pending request, of the types we asked for."""
    body = await read_json(request)
    await request.config_dict[SERVICES].holder.accept(request.headers.get("Authorization"), body)
    return web.Response(status=204)
