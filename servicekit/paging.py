"""Paging parameters from the query string, one parser for every service.

Two styles are in use: offset paging (``limit`` and ``offset``, the
connector's management API) and keyset paging (a page size plus an
``after`` cursor the service reads itself, e.g. the trust anchor's
registries). Both refuse a malformed or out-of-range value with a 400
:class:`~servicekit.errors.InvalidRequest` and a stable code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from aiohttp import web

from servicekit.errors import InvalidRequest

__all__ = ["MAX_LIMIT", "MAX_OFFSET", "PAGING", "more_rows", "page_size", "paging"]

_T = TypeVar("_T")

#: The largest page size, and the largest offset: one that fits a 32-bit SQL
#: integer, far beyond any store we page through, and well inside SQLite's and
#: PostgreSQL's 64-bit OFFSET (a larger one overflowed into a 500).
MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1

#: The OpenAPI parameters of offset paging.
PAGING: list[dict[str, Any]] = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
]


def paging(request: web.Request) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string (400 ``paging-invalid`` when malformed)."""
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise InvalidRequest("limit and offset must be integers", code="paging-invalid") from None
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}",
                             code="paging-invalid")
    return limit, offset


def page_size(
    request: web.Request,
    name: str = "limit",
    *,
    default: int = 50,
    maximum: int = MAX_LIMIT,
    code: str = "paging-invalid",
) -> int:
    """The page size in query parameter ``name``: ASCII digits, 1 to ``maximum``.

    ``code`` is the problem code of a bad value (a service keeps the code its
    clients already know).
    """
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum):
        raise InvalidRequest(f"{name} must be an integer from 1 to {maximum}", code=code)
    return int(raw)


def more_rows(rows: Sequence[_T], limit: int) -> tuple[list[_T], bool]:
    """Keyset paging: the page of ``limit`` rows out of ``limit + 1`` fetched, and whether
    there is a next page (the extra row says so without a count)."""
    return list(rows[:limit]), len(rows) > limit
