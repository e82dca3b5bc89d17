"""Shared pieces of the management handlers: the API-key guard, the services, deletion.

Paging is servicekit's (:mod:`servicekit.paging`), as in every service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from connector.keys import API_KEYS, SERVICES, Services
from servicekit.auth import ApiKeyVerifier, require_api_key
from servicekit.openapi import operation

__all__ = ["admin", "delete_route", "services"]


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


#: Decorate a handler: ``Authorization: Bearer <admin_api_key>`` required.
admin = require_api_key(_verifier)


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


def delete_route(routes: web.RouteTableDef, path: str, summary: str, *, tags: Sequence[str],
                 remove: Callable[[Services], Callable[[str], Awaitable[object]]],
                 description: str) -> None:
    """Add ``DELETE path`` (admin): ``remove(services)`` of the path's one id, then 204."""
    name = path.rsplit("{", 1)[1].rstrip("}")

    async def delete(request: web.Request) -> web.Response:
        await remove(services(request))(request.match_info[name])
        return web.Response(status=204)

    documented = operation(summary, tags=tags, responses={204: None}, security="bearer",
                           description=description)(delete)
    routes.delete(path)(admin(documented))
