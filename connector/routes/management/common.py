"""Shared pieces of the management handlers: the API-key guard and paging parameters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.keys import API_KEYS, SERVICES, Services
from servicekit.auth import ApiKeyVerifier, require_api_key
from servicekit.errors import InvalidRequest

__all__ = ["PAGING", "admin", "paging", "services"]


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


#: Decorate a handler: ``Authorization: Bearer <admin_api_key>`` required.
admin = require_api_key(_verifier)

PAGING: list[dict[str, Any]] = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


def paging(request: web.Request) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string (400 when malformed)."""
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise InvalidRequest("limit and offset must be integers", code="paging-invalid") from None
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidRequest("limit must be 1..500 and offset >= 0", code="paging-invalid")
    return limit, offset
