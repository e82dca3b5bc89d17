"""What every TM Forum endpoint shares: the query, the list answer, the Error body.

A list answers ``200`` with the page as a JSON array and the headers
``X-Total-Count`` (every match) and ``X-Result-Count`` (this page), as TMF630
says. Errors under ``/tmf-api`` carry the TMF ``Error`` fields (``code``,
``reason``, ``message``, ``status``, ``@type``) next to the problem+json
ones, so TMF clients and RFC 9457 clients both read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from marketplace.domain.tmf import Query, parse_fields, parse_query, project
from marketplace.routes import caller
from marketplace.services.callers import Caller
from servicekit.errors import PROBLEM_BASE_URI, DataspaceError
from servicekit.paging import PAGING, paging
from servicekit.web import json_response

__all__ = [
    "FIELDS_PARAMETER",
    "LIST_PARAMETERS",
    "OBJECT",
    "OBJECTS",
    "TMF_ERROR",
    "TMF_ERRORS",
    "Finder",
    "item_response",
    "list_response",
    "listed",
    "query",
    "render_tmf_error",
]

#: The OpenAPI ``fields`` parameter (TMF630 attribute selection).
FIELDS_PARAMETER: dict[str, Any] = {
    "name": "fields", "in": "query", "required": False, "schema": {"type": "string"},
    "description": "Comma-separated attributes to return (id, href, @type always come).",
}

#: The OpenAPI parameters of a TMF list.
LIST_PARAMETERS: list[dict[str, Any]] = [
    FIELDS_PARAMETER,
    {"name": "sort", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Attributes to sort by; a leading '-' sorts descending."},
    *PAGING,
]

#: The TMF ``Error`` schema (with the problem+json members beside it).
TMF_ERROR: dict[str, Any] = {
    "type": "object", "required": ["code", "reason"],
    "properties": {"code": {"type": "string"}, "reason": {"type": "string"},
                   "message": {"type": "string"}, "status": {"type": "string"},
                   "referenceError": {"type": "string"}, "@type": {"type": "string"},
                   "type": {"type": "string"}, "title": {"type": "string"},
                   "detail": {"type": "string"}},
}

#: The errors every TM Forum operation may answer, each a TMF ``Error``.
TMF_ERRORS: dict[int, Any] = {status: TMF_ERROR for status in (400, 401, 403, 404, 409)}

#: A TMF resource, and a list of them, in the OpenAPI document.
OBJECT: dict[str, Any] = {"type": "object"}
OBJECTS: dict[str, Any] = {"type": "array", "items": OBJECT}

#: A service's list query: the caller's page of resources and the count of every match.
Finder = Callable[[Caller, Query], Awaitable[tuple[Sequence[Mapping[str, Any]], int]]]


def query(request: web.Request, *, keep: Iterable[str] = ()) -> Query:
    """The TMF630 query of a list request (400 on a malformed filter or paging)."""
    limit, offset = paging(request)
    return parse_query(request.query, limit=limit, offset=offset, keep=frozenset(keep))


def list_response(items: Iterable[Mapping[str, Any]], total: int, q: Query) -> web.Response:
    """A page of resources, projected to ``fields``, with the TMF count headers."""
    page = [project(item, q.fields) for item in items]
    return json_response(page, headers={"X-Total-Count": str(total),
                                        "X-Result-Count": str(len(page))})


async def listed(request: web.Request, find: Finder, *, keep: Iterable[str] = ()) -> web.Response:
    """A TMF list: the request's query (400 first), then its caller, then ``find``'s page."""
    q = query(request, keep=keep)
    items, total = await find(await caller(request), q)
    return list_response(items, total, q)


def item_response(request: web.Request, body: Mapping[str, Any]) -> web.Response:
    """One resource, projected to the request's ``fields`` (400 on a malformed list)."""
    return json_response(project(body, parse_fields(request.query.get("fields"))))


def render_tmf_error(request: web.Request, error: DataspaceError) -> web.Response:
    """An error as the TMF ``Error`` body (plus the problem+json members)."""
    body: dict[str, Any] = {
        "@type": "Error",
        "code": error.code,
        "reason": error.title,
        "message": error.detail,
        "status": str(error.status),
        "referenceError": f"{PROBLEM_BASE_URI}{error.code}",
        "type": f"{PROBLEM_BASE_URI}{error.code}",
        "title": error.title,
        "detail": error.detail,
        "instance": request.path,
        **{k: v for k, v in error.extra.items() if k not in {"code", "status"}},
    }
    return json_response(body, status=error.status)
