"""The typed application keys of the marketplace, declared in one place.

The settings are servicekit's ``SETTINGS`` key (set by ``create_service_app``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from identity.service_identity import ServiceIdentity
from marketplace.services.callers import Callers
from marketplace.services.catalog import CatalogService
from marketplace.services.purchases import Purchases
from servicekit.auth import ApiKeyVerifier

__all__ = ["API_KEYS", "IDENTITY", "SERVICES", "Services"]


@dataclass(frozen=True)
class Services:
    """What route handlers call."""

    callers: Callers
    #: Purchase credentials: issue, offer and deliver over DCP, revoke.
    purchases: Purchases
    #: TMF620: data products, offerings, plans, catalogs and categories.
    catalog: CatalogService


SERVICES = web.AppKey("services", Services)
#: The operator's API keys.
API_KEYS = web.AppKey("api_keys", ApiKeyVerifier)
#: The marketplace's own DID, keys and DID document.
IDENTITY = web.AppKey("identity", ServiceIdentity)
