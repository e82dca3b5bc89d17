"""The audit log (browse, verify, CSV) and the membership pages of the provider.

The same services as ``GET /api/v1/audit``, ``/api/v1/audit/verify``,
``/api/v1/audit.csv``, ``/api/v1/membership`` and ``/api/v1/credentials``.
The CSV is served at ``/audit.csv`` for a signed-in person (the API route
needs a bearer key a browser does not send).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from connector.pages.provider_common import AUDITORS, routes, services
from connector.services.audit import DECISIONS, AuditFilter
from servicekit.console.web import page, render
from servicekit.errors import Conflict, DataspaceError, InvalidRequest
from servicekit.web import stream_download

__all__ = ["audit_filter"]

_FIELDS = ("transfer_id", "agreement_id", "dataset_id", "decision", "since", "until")


def _day(value: str, name: str, *, end: bool) -> float | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} is a date (YYYY-MM-DD)", code="filter-invalid") from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start + 86_400 if end else start


def audit_filter(query: Any) -> AuditFilter:
    """The filters of the audit page's query (dates are whole UTC days)."""
    decision = query.get("decision") or None
    if decision is not None and decision not in DECISIONS:
        raise InvalidRequest(f"decision is one of {', '.join(DECISIONS)}",
                             code="filter-invalid")
    return AuditFilter(
        transfer_id=query.get("transfer_id") or None,
        agreement_id=query.get("agreement_id") or None,
        dataset_id=query.get("dataset_id") or None, decision=decision,
        since=_day(query.get("since", ""), "since", end=False),
        until=_day(query.get("until", ""), "until", end=True))


@routes.get("/audit")
@page("GET", "/audit", "The data plane's audit log: filter, verify, export", roles=AUDITORS)
async def audit(request: web.Request) -> web.StreamResponse:
    """Newest first, 50 a page; ``verify=1`` checks the whole chain and shows the result."""
    values = {name: request.query.get(name, "") for name in _FIELDS}
    error = ""
    items: list[dict[str, Any]] = []
    next_before = None
    verified = None
    unavailable = ""
    try:
        where = audit_filter(request.query)
        before = request.query.get("before")
        if before is not None and not before.isdigit():
            raise InvalidRequest("before is a record number", code="filter-invalid")
        items, next_before = await services(request).audit.page(
            where, before=int(before) if before else None, limit=50)
        if request.query.get("verify"):
            verified = await services(request).audit.verify()
    except Conflict as exc:
        unavailable = exc.detail or exc.title
    except InvalidRequest as exc:
        error = exc.detail or exc.title
    query = {k: v for k, v in values.items() if v}
    return await render(request, "provider/audit.html", {
        "items": items, "values": values, "error": error, "verified": verified,
        "unavailable": unavailable, "decisions": DECISIONS,
        "csv": "/audit.csv" + (f"?{urlencode(query)}" if query else ""),
        "verify_link": "/audit?" + urlencode({**query, "verify": "1"}),
        "next": "/audit?" + urlencode({**query, "before": next_before})
        if next_before is not None else ""}, status=400 if error else 200)


@routes.get("/audit.csv")
@page("GET", "/audit.csv", "The audit log as CSV (the page's filters)", roles=AUDITORS)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    """The same CSV as ``GET /api/v1/audit.csv``, for a signed-in person."""
    chunks = services(request).audit.csv_chunks(audit_filter(request.query))
    return await stream_download(request, chunks, content_type="text/csv; charset=utf-8",
                                 filename="audit.csv")


@routes.get("/membership")
@page("GET", "/membership", "Our membership of the data space and the credentials we hold")
async def membership(request: web.Request) -> web.StreamResponse:
    """The application's state at the trust anchor, and every credential held."""
    svc = services(request)
    try:
        status = await svc.membership.status()
        problem = status.get("error", "")
    except DataspaceError as exc:
        status, problem = {"status": "unknown", "credentials": []}, exc.detail or exc.title
    held = [c.summary() for c in await svc.holder.find(credential_type=None, limit=200,
                                                       offset=0)]
    return await render(request, "provider/membership.html", {
        "status": status, "problem": problem, "held": held})
