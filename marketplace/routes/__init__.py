"""Thin HTTP handlers: parse, call a service, serialise.

Each module declares ``routes`` (a ``web.RouteTableDef``) that ``app.py``
adds; handlers reach the use cases through :func:`services` and never the
store. The TM Forum APIs live in a sub-application under ``/tmf-api`` that
answers errors in the TMF ``Error`` shape.
"""

from __future__ import annotations

from typing import cast

from aiohttp import web

from marketplace.keys import SERVICES, Services
from marketplace.services.callers import Caller
from marketplace.settings import MarketplaceSettings
from servicekit.app import SETTINGS

__all__ = ["caller", "services", "settings"]


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


def settings(request: web.Request) -> MarketplaceSettings:
    """The marketplace's settings."""
    return cast(MarketplaceSettings, request.config_dict[SETTINGS])


async def caller(request: web.Request) -> Caller:
    """Who sent ``request``: the operator, a member, or an anonymous caller."""
    return await services(request).callers.identify(request.headers.get("Authorization"))
