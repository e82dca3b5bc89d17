"""The trust anchor's root (``/``): links to the operator console, the API and the registries."""

from __future__ import annotations

from aiohttp import web

from servicekit.home import HomeLink, add_home
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["add_root"]


def add_root(app: web.Application, settings: TrustAnchorSettings) -> None:
    """Register ``GET /``."""
    identity = ([HomeLink(href="/.well-known/did.json", title="DID document")]
                if settings.did_method == "web" else [])
    add_home(app, service=f"Trust anchor of {settings.operator_name}",
             description="Onboarding, credential issuance (OpenID4VCI, DCP, VC-API), the "
             "trusted-issuers registry and the participant list of this data space.",
             links=[
                 HomeLink(href="/operator", title="Operator console",
                          description="review applications; approve, suspend, revoke "
                          "(operator accounts; members sign in with their credential)"),
                 HomeLink(href="/openapi.json", title="API description (OpenAPI 3.1)"),
                 HomeLink(href="/participants", title="Participants",
                          description="the data space's members"),
                 HomeLink(href="/v4/issuers", title="Trusted issuers (EBSI TIR v4)"),
                 HomeLink(href="/.well-known/openid-credential-issuer",
                          title="Credential issuer metadata (OpenID4VCI)"),
                 *identity,
                 HomeLink(href="/healthz", title="Health"),
             ])
