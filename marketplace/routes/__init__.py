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
from marketplace.services.callers import OPERATOR, Caller
from marketplace.settings import MarketplaceSettings
from servicekit.app import SETTINGS
from servicekit.auth import bearer_token
from servicekit.console.accounts import TOKEN_PREFIX
from servicekit.console.keys import CONSOLE
from servicekit.errors import Unauthorized

__all__ = ["caller", "services", "settings"]


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


def settings(request: web.Request) -> MarketplaceSettings:
    """The marketplace's settings."""
    return cast(MarketplaceSettings, request.config_dict[SETTINGS])


async def caller(request: web.Request) -> Caller:
    """Who sent ``request``: the operator, a member, or an anonymous caller.

    A staff member's console API token (``dst_...``) acts as the operator within its
    scopes: ``read`` for GET and HEAD, ``manage`` for the rest (403 ``token-scope``).
    """
    token = bearer_token(request)
    console = request.config_dict.get(CONSOLE)
    if token and token.startswith(TOKEN_PREFIX) and console is not None:
        scope = "read" if request.method in ("GET", "HEAD") else "manage"
        api = await console.authenticate_token(token, scope)
        if api is None:
            raise Unauthorized("the API token is unknown, expired or revoked",
                               code="api-key-required")
        return OPERATOR
    return await services(request).callers.identify(request.headers.get("Authorization"))
