"""Shared pieces of the management handlers: the API-key guard and paging parameters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.keys import API_KEYS, SERVICES, Services
from servicekit.auth import ApiKeyVerifier, require_api_key
from servicekit.errors import InvalidRequest

__all__ = ["MAX_LIMIT", "MAX_OFFSET", "PAGING", "admin", "paging", "services"]


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


#: Decorate a handler: ``Authorization: Bearer <admin_api_key>`` required.
admin = require_api_key(_verifier)

#: The largest page size, and the largest offset: one that fits a 32-bit SQL
#: integer, far beyond any store we page through, and well inside SQLite's and
#: PostgreSQL's 64-bit OFFSET (a larger one overflowed into a 500).
MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1

PAGING: list[dict[str, Any]] = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
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
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}",
                             code="paging-invalid")
    return limit, offset
