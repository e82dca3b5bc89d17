"""Shared pieces of the management handlers: the API-key guard and the services.

Paging is servicekit's (:mod:`servicekit.paging`), as in every service.
"""

from __future__ import annotations

from aiohttp import web

from connector.keys import API_KEYS, SERVICES, Services
from servicekit.auth import ApiKeyVerifier, require_api_key

__all__ = ["admin", "services"]


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


#: Decorate a handler: ``Authorization: Bearer <admin_api_key>`` required.
admin = require_api_key(_verifier)


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]
