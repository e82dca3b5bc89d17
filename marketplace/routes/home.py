"""The marketplace's root (``/``): links to the API and the TM Forum resources."""

from __future__ import annotations

from aiohttp import web

from marketplace.settings import MarketplaceSettings
from servicekit.home import HomeLink, add_home

__all__ = ["add_root"]


def add_root(app: web.Application, settings: MarketplaceSettings) -> None:
    """Register ``GET /``."""
    identity = ([HomeLink(href="/.well-known/did.json", title="DID document")]
                if settings.did_method == "web" else [])
    add_home(app, service=settings.operator_name,
             description="Data products with pricing plans, orders, payments and usage "
             "billing (TM Forum Open APIs).",
             links=[
                 HomeLink(href="/portal", title="The marketplace portal",
                          description="find, compare and buy data products; sell yours"),
                 HomeLink(href="/openapi.json", title="API description (OpenAPI 3.1)"),
                 HomeLink(href="/tmf-api/productCatalogManagement/v4/productOffering",
                          title="Product offerings (TMF620)",
                          description="the launched public data products"),
                 *identity,
                 HomeLink(href="/healthz", title="Health"),
             ])
