"""``/.well-known`` documents: the DID document and the OID4VCI metadata."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicekit.openapi import operation
from servicekit.web import json_response
from trust_anchor.state import IDENTITY, TA_SETTINGS

__all__ = ["issuer_metadata", "setup"]

_ALGS = ["EdDSA", "ES256"]


def issuer_metadata(request: web.Request) -> dict[str, Any]:
    """The OID4VCI 1.0 credential issuer metadata."""
    settings = request.config_dict[TA_SETTINGS]
    base = settings.base_url
    configurations = {}
    for config in settings.credential_types:
        if "self" not in config.issued_by:
            continue
        configurations[config.type] = {
            "format": "vc+jwt",
            "scope": config.type,
            "cryptographic_binding_methods_supported": ["did:web", "did:key"],
            "credential_signing_alg_values_supported": _ALGS,
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": _ALGS}},
            "credential_definition": {"type": ["VerifiableCredential", config.type]},
            "credential_metadata": {
                "display": [{"name": config.type, "locale": "en"}],
            },
        }
    return {
        "credential_issuer": base,
        "authorization_servers": [base],
        "credential_endpoint": f"{base}/oid4vci/credential",
        "nonce_endpoint": f"{base}/oid4vci/nonce",
        "display": [{"name": settings.operator_name, "locale": "en"}],
        "credential_configurations_supported": configurations,
    }


@operation("The trust anchor's DID document (did:web)", tags=["identity"],
           responses={200: {"type": "object"}})
async def did_document(request: web.Request) -> web.Response:
    """Serve the DID document of the trust anchor's did:web."""
    return json_response(request.config_dict[IDENTITY].document,
                         content_type="application/did+json")


@operation("OpenID for VC Issuance credential issuer metadata", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def credential_issuer(request: web.Request) -> web.Response:
    """Serve the credential issuer metadata."""
    return json_response(issuer_metadata(request))


@operation("OAuth 2.0 authorization server metadata (RFC 8414)", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def authorization_server(request: web.Request) -> web.Response:
    """Serve the metadata wallets use to find the token endpoint."""
    base = request.config_dict[TA_SETTINGS].base_url
    return json_response({
        "issuer": base,
        "token_endpoint": f"{base}/oid4vci/token",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    })


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/.well-known/did.json", did_document)
    app.router.add_get("/.well-known/openid-credential-issuer", credential_issuer)
    app.router.add_get("/.well-known/oauth-authorization-server", authorization_server)
