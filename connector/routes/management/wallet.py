"""Management: the connector as its organisation's wallet (OpenID4VP sign-in elsewhere).

``POST /api/v1/wallet/requests`` reads a sign-in request (who asks, for what,
what we would present) without answering it; ``POST /api/v1/wallet/presentations``
answers it with our credentials. Answering signs the organisation in at
another service, so it needs the ``approve`` scope (admins' and data owners'
tokens, as on the console's page), not merely ``manage``.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.keys import API_KEYS
from connector.services.wallet import WALLET
from servicekit.auth import ApiKeyVerifier, require_api_key
from servicekit.console.keys import API_CALLER
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["SignInRequestIn", "routes"]

routes = web.RouteTableDef()


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


class SignInRequestIn(BaseModel):
    """A sign-in request another service showed (its ``openid4vp://`` URL)."""

    model_config = ConfigDict(extra="forbid")

    authorization_url: str = Field(min_length=1, max_length=4000, pattern=r"^\s*openid4vp://",
                                   description="The openid4vp:// authorization request URL.")


_READ = {"type": "object", "properties": {
    "verifier_did": {"type": "string"},
    "verifier_name": {"type": ["string", "null"],
                      "description": "Its legal name in the trust anchor's registry."},
    "verifier_site": {"type": "string"},
    "asked": {"type": "array", "items": {"type": "string"}},
    "presenting": {"type": "array", "items": {"type": "object"}},
    "missing": {"type": ["string", "null"]}}}
_PRESENTED = {"type": "object", "properties": {
    "verifier_did": {"type": "string"}, "verifier_name": {"type": ["string", "null"]},
    "redirect_uri": {"type": ["string", "null"],
                     "description": "Where the person's browser continues at the verifier."},
    "presented": {"type": "array", "items": {"type": "object"}}}}


@routes.post("/api/v1/wallet/requests")
@require_api_key(_verifier)
@operation("Wallet: read a sign-in request (who asks, for what) without answering it",
           tags=["wallet"], request=SignInRequestIn, responses={200: _READ},
           security="bearer")
async def read_request(request: web.Request) -> web.Response:
    """Fetches and verifies the signed request object."""
    data = await parse_body(request, SignInRequestIn)
    read = await request.config_dict[WALLET].read(data.authorization_url)
    return json_response(read.as_dict())


@routes.post("/api/v1/wallet/presentations")
@require_api_key(_verifier, scope="approve")
@operation("Wallet: sign the organisation in elsewhere (answer an OpenID4VP request)",
           tags=["wallet"], request=SignInRequestIn, responses={201: _PRESENTED},
           security="bearer", description="Presents our MembershipCredential to the "
           "verifier; needs the approve scope.")
async def present(request: web.Request) -> web.Response:
    """The verifier's ``redirect_uri`` is where the person's browser continues."""
    data = await parse_body(request, SignInRequestIn)
    presented = await request.config_dict[WALLET].present(
        data.authorization_url, actor=request[API_CALLER].actor)
    return json_response(presented.as_dict(), status=201)
