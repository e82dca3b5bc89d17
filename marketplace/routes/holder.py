"""The marketplace's Credential Service (DCP 1.0): presentation queries and storage.

Our DID document lists ``<base_url>/dcp`` as ``CredentialService``: a
provider's connector that receives our DSP request reads our
MembershipCredential here, and the trust anchor delivers the credential we
asked for over DCP issuance. Both endpoints authenticate the caller by its
self-issued token (``aud`` = our DID); errors are problem+json. (Our
IssuerService, for purchase credentials, is :mod:`marketplace.routes.dcp`.)
"""

from __future__ import annotations

from aiohttp import web

from marketplace.routes import services
from servicekit.openapi import operation
from servicekit.web import json_response, read_json

__all__ = ["CREDENTIAL_SERVICE_PATH", "credential_service_entry", "routes"]

#: Where our Credential Service is mounted.
CREDENTIAL_SERVICE_PATH = "/dcp"

routes = web.RouteTableDef()
_DCP = {"type": "object", "description": "A DCP 1.0 message (see the DCP JSON Schemas)."}


def credential_service_entry(base_url: str) -> dict[str, str]:
    """Our DID document's ``CredentialService`` entry."""
    return {"id": "#credential-service", "type": "CredentialService",
            "serviceEndpoint": base_url.rstrip("/") + CREDENTIAL_SERVICE_PATH}


@routes.post(CREDENTIAL_SERVICE_PATH + "/presentations/query")
@operation("DCP presentation query (PresentationQueryMessage → PresentationResponseMessage)",
           tags=["dcp"], request=_DCP, responses={200: _DCP}, security="bearer")
async def presentation_query(request: web.Request) -> web.Response:
    """A verifier reads our credentials with the access token we gave it."""
    body = await read_json(request)
    answer = await services(request).holder.answer_query(request.headers.get("Authorization"),
                                                         body)
    return json_response(answer)


@routes.post(CREDENTIAL_SERVICE_PATH + "/credentials")
@operation("DCP storage: an issuer delivers credentials we requested (CredentialMessage)",
           tags=["dcp"], request=_DCP, responses={204: None}, security="bearer")
async def store_credentials(request: web.Request) -> web.Response:
    """Accepted from the issuer we asked, for our pending request, of the types we asked for."""
    body = await read_json(request)
    await services(request).holder.accept(request.headers.get("Authorization"), body)
    return web.Response(status=204)
