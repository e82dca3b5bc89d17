"""Thin HTTP handlers: parse, call a service, serialise.

Each module declares ``routes`` (a ``web.RouteTableDef``) that ``app.py``
adds; handlers reach the use cases through :func:`services` and never the
store.
"""

from __future__ import annotations

from typing import cast

from aiohttp import web

from servicekit.app import SETTINGS
from servicekit.auth import require_api_key
from trust_anchor.keys import API_KEYS, SERVICES, Services
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["operator_only", "services", "settings"]

#: Decorates handlers only the data-space operator may call.
operator_only = require_api_key(lambda request: request.config_dict[API_KEYS])


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


def settings(request: web.Request) -> TrustAnchorSettings:
    """The trust anchor's settings."""
    return cast(TrustAnchorSettings, request.config_dict[SETTINGS])
