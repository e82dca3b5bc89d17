"""``/.well-known`` documents: the DID document and the OID4VCI metadata."""

from __future__ import annotations

from aiohttp import web

from servicekit.openapi import operation
from servicekit.web import json_response
from trust_anchor.domain.oid4vci import PRE_AUTHORIZED_GRANT, issuer_metadata
from trust_anchor.keys import IDENTITY
from trust_anchor.routes import settings

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/.well-known/did.json")
@operation("The trust anchor's DID document (did:web)", tags=["identity"],
           responses={200: {"type": "object"}})
async def did_document(request: web.Request) -> web.Response:
    """Serve the DID document of the trust anchor's did:web."""
    return json_response(request.config_dict[IDENTITY].document,
                         content_type="application/did+json")


@routes.get("/.well-known/openid-credential-issuer")
@operation("OpenID for VC Issuance credential issuer metadata", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def credential_issuer(request: web.Request) -> web.Response:
    """Serve the credential issuer metadata."""
    return json_response(issuer_metadata(settings(request)))


@routes.get("/.well-known/oauth-authorization-server")
@operation("OAuth 2.0 authorization server metadata (RFC 8414)", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def authorization_server(request: web.Request) -> web.Response:
    """Serve the metadata wallets use to find the token endpoint."""
    base = settings(request).base_url
    return json_response({
        "issuer": base,
        "token_endpoint": f"{base}/oid4vci/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    })
