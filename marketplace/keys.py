"""The typed application keys of the marketplace, declared in one place.

The settings are servicekit's ``SETTINGS`` key (set by ``create_service_app``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from identity.service_identity import ServiceIdentity
from marketplace.services.billing import Billing
from marketplace.services.callers import Callers
from marketplace.services.catalog import CatalogService
from marketplace.services.federation import Federation
from marketplace.services.holder import Holder
from marketplace.services.inventory import Inventory
from marketplace.services.membership import Membership
from marketplace.services.order_payments import Payments
from marketplace.services.ordering import Orders
from marketplace.services.purchases import Purchases
from marketplace.services.search import Search
from marketplace.services.usage import UsageService
from servicekit.auth import ApiKeyVerifier
from servicekit.clock import Clock

__all__ = ["API_KEYS", "CLOCK", "IDENTITY", "SERVICES", "Services"]


@dataclass(frozen=True)
class Services:
    """What route handlers call."""

    callers: Callers
    #: Purchase credentials: issue, offer and deliver over DCP, revoke.
    purchases: Purchases
    #: Our own credentials and Credential Service (the marketplace is a member).
    holder: Holder
    #: Our membership at the trust anchor (None without a trust anchor).
    membership: Membership | None
    #: The providers' DSP catalogs: dataset checks and the harvested federated view.
    federation: Federation
    #: TMF620: data products, offerings, plans, catalogs and categories.
    catalog: CatalogService
    #: TMF622: product orders (placing, approving, cancelling).
    orders: Orders
    #: TMF637: the products buyers hold (renewals, termination).
    inventory: Inventory
    #: Payment callbacks, the operator's "paid", the due-date sweep.
    payments: Payments
    #: TMF635: signed usage reports from providers' connectors, rated once each.
    usage: UsageService
    #: TMF678 bills, their lines, CSV and page; billing runs and provider payouts.
    billing: Billing
    #: Free text and facets over the data products.
    search: Search


SERVICES = web.AppKey("services", Services)
#: The operator's API keys.
API_KEYS = web.AppKey("api_keys", ApiKeyVerifier)
#: The marketplace's own DID, keys and DID document.
IDENTITY = web.AppKey("identity", ServiceIdentity)
#: The wall clock the use cases read (tests inject a fake one).
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
